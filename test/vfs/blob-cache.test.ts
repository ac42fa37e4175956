import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOCK_BYTES, BlobCache } from '../../src/vfs/blob-cache.js';

const patterned = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff));

test('content cache: bounded by whole blocks, least recently used out, oversize and disabled caches keep nothing', () => {
  const cache = new BlobCache(10 * BLOCK_BYTES, 2 * BLOCK_BYTES);
  cache.set('inline', 'empty', Buffer.alloc(0));
  cache.set('inline', 'big', Buffer.alloc(2 * BLOCK_BYTES + 1));
  assert.equal(cache.get('inline', 'big'), undefined, 'over content_max_item_kb');
  assert.equal(cache.get('inline', 'empty')?.length, 0);
  // Nine one-block entries and the empty one (counted as one block) fill the ten blocks.
  for (let i = 0; i < 9; i++) cache.set('inline', `k${i}`, Buffer.alloc(100, i));
  cache.get('inline', 'k0');
  // Three more push out the least recently used (the empty one, k1, k2), not k0 just read.
  for (let i = 9; i < 12; i++) cache.set('inline', `k${i}`, Buffer.alloc(100, i));
  assert.equal(cache.get('inline', 'k0')?.[0], 0);
  assert.equal(cache.get('inline', 'empty'), undefined);
  assert.equal(cache.get('inline', 'k1'), undefined);
  assert.equal(cache.get('inline', 'k3')?.[0], 3);
  assert.equal(cache.get('inline', 'k11')?.[0], 11);
  assert.equal(cache.get('localfs', 'k11'), undefined, 'keys are per backend');
  cache.delete('inline', 'k11');
  assert.equal(cache.get('inline', 'k11'), undefined);
  const off = new BlobCache(0, 100);
  off.set('inline', 'x', Buffer.alloc(1));
  assert.equal(off.get('inline', 'x'), undefined);
});

test('content cache: every size comes back byte for byte, across block boundaries', () => {
  const sizes = [0, 1, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1, 3 * BLOCK_BYTES + 17, 8 * BLOCK_BYTES];
  const cache = new BlobCache(64 * BLOCK_BYTES, 8 * BLOCK_BYTES);
  sizes.forEach((size, seed) => cache.set('inline', `s${size}`, patterned(size, seed)));
  sizes.forEach((size, seed) => assert.deepEqual(cache.get('inline', `s${size}`), patterned(size, seed), `${size} bytes`));
});

test('content cache: a blob handed out is a copy, untouched when its blocks are reused or it is changed', () => {
  const cache = new BlobCache(4 * BLOCK_BYTES, 2 * BLOCK_BYTES);
  cache.set('inline', 'a', patterned(2 * BLOCK_BYTES, 1));
  const handedOut = cache.get('inline', 'a')!;
  handedOut.fill(0);
  assert.deepEqual(cache.get('inline', 'a'), patterned(2 * BLOCK_BYTES, 1), 'changing the copy leaves the cache alone');
  const kept = cache.get('inline', 'a')!;
  // Pushes 'a' out and writes other contents into the blocks it had.
  for (let i = 0; i < 6; i++) cache.set('inline', `b${i}`, Buffer.alloc(BLOCK_BYTES, 0xee));
  assert.equal(cache.get('inline', 'a'), undefined);
  assert.deepEqual(kept, patterned(2 * BLOCK_BYTES, 1), 'a copy being sent is not overwritten by later entries');
});

test('content cache: slab memory stays within the budget plus one largest entry however many blobs pass through', () => {
  const budget = 32 * BLOCK_BYTES;
  const cache = new BlobCache(budget, 4 * BLOCK_BYTES);
  for (let i = 0; i < 2000; i++) cache.set('inline', `k${i}`, patterned((i * 977) % (4 * BLOCK_BYTES + 1), i));
  assert.ok(cache.slabBytes <= budget + 4 * BLOCK_BYTES, `slabs hold ${cache.slabBytes} bytes`);
  const last = 1999;
  assert.deepEqual(cache.get('inline', `k${last}`), patterned((last * 977) % (4 * BLOCK_BYTES + 1), last));
  // A cache smaller than its largest item refuses what does not fit, and takes no block for it.
  const tiny = new BlobCache(2 * BLOCK_BYTES, 8 * BLOCK_BYTES);
  for (let i = 0; i < 100; i++) tiny.set('inline', `big${i}`, Buffer.alloc(3 * BLOCK_BYTES));
  assert.equal(tiny.get('inline', 'big0'), undefined);
  tiny.set('inline', 'small', Buffer.alloc(BLOCK_BYTES, 5));
  assert.equal(tiny.get('inline', 'small')?.[0], 5);
  assert.ok(tiny.slabBytes <= 10 * BLOCK_BYTES, `slabs hold ${tiny.slabBytes} bytes`);
});
