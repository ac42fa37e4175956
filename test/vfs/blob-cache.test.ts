import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BLOCK_BYTES, BlobCache } from '../../src/vfs/blob-cache.js';

const patterned = (size: number, seed: number) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff));

test('content cache: bounded by whole blocks; when full, a blob gets in only if asked for more often than the least recently used entry', () => {
  const cache = new BlobCache(10 * BLOCK_BYTES, 2 * BLOCK_BYTES);
  cache.set('inline', 'empty', Buffer.alloc(0));
  cache.set('inline', 'big', Buffer.alloc(2 * BLOCK_BYTES + 1));
  assert.equal(cache.get('inline', 'big'), undefined, 'over content_max_item_kb');
  assert.equal(cache.get('inline', 'empty')?.length, 0);
  // Nine one-block entries and the empty one (counted as one block) fill the ten blocks.
  for (let i = 0; i < 9; i++) cache.set('inline', `k${i}`, Buffer.alloc(100, i));
  cache.get('inline', 'k0');
  // Least recently used is now 'empty' (read once). A blob nobody has asked for does not push it out …
  cache.set('inline', 'cold', Buffer.alloc(100, 0xc0));
  // … one asked for twice does.
  assert.equal(cache.get('inline', 'hot'), undefined);
  assert.equal(cache.get('inline', 'hot'), undefined);
  cache.set('inline', 'hot', Buffer.alloc(100, 0x40));
  assert.equal(cache.get('inline', 'hot')?.[0], 0x40);
  assert.equal(cache.get('inline', 'empty'), undefined, 'the least recently used entry made room');
  assert.equal(cache.get('inline', 'cold'), undefined, 'the blob nobody asked for was not taken');
  assert.equal(cache.get('inline', 'k0')?.[0], 0);
  assert.equal(cache.get('inline', 'k8')?.[0], 8);
  assert.equal(cache.get('localfs', 'k8'), undefined, 'keys are per backend');
  cache.delete('inline', 'k8');
  assert.equal(cache.get('inline', 'k8'), undefined);
  const off = new BlobCache(0, 100);
  off.set('inline', 'x', Buffer.alloc(1));
  assert.equal(off.get('inline', 'x'), undefined);
});

/** What the VFS does: look up, and on a miss read the blob and offer it. Returns whether it was a hit. */
function read(cache: BlobCache, key: string, size = 100): boolean {
  if (cache.get('inline', key)) return true;
  cache.set('inline', key, Buffer.alloc(size, key.length));
  return false;
}

test('content cache: a set of files a quarter larger than the cache, read over and over, mostly stays cached', () => {
  const cache = new BlobCache(100 * BLOCK_BYTES, BLOCK_BYTES);
  const keys = Array.from({ length: 125 }, (_, i) => `f${i}`);
  for (let round = 0; round < 3; round++) for (const k of keys) read(cache, k);
  let hits = 0;
  for (let round = 0; round < 3; round++) for (const k of keys) if (read(cache, k)) hits++;
  // Least-recently-used alone would miss every time here: each blob is pushed out just before its turn comes again.
  assert.ok(hits / (3 * keys.length) >= 0.7, `hit rate ${(hits / (3 * keys.length)).toFixed(2)}`);
});

test('content cache: a one-time scan of many files does not push out the files in use', () => {
  const cache = new BlobCache(100 * BLOCK_BYTES, BLOCK_BYTES);
  const hot = Array.from({ length: 20 }, (_, i) => `hot${i}`);
  for (let round = 0; round < 3; round++) for (const k of hot) read(cache, k);
  for (let i = 0; i < 1000; i++) {
    read(cache, `scan${i}`);
    if (i % 200 === 0) for (const k of hot) read(cache, k);
  }
  assert.ok(hot.every((k) => cache.get('inline', k)), 'every hot file is still cached');
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
  cache.set('inline', 'b0', Buffer.alloc(BLOCK_BYTES, 0xee));
  cache.set('inline', 'b1', Buffer.alloc(BLOCK_BYTES, 0xee));
  // Full; 'a' (read three times) is the least recently used. Blobs read more often push it out and take its blocks.
  for (const b of ['b2', 'b3']) {
    for (let i = 0; i < 5; i++) cache.get('inline', b);
    cache.set('inline', b, Buffer.alloc(BLOCK_BYTES, 0xee));
  }
  assert.equal(cache.get('inline', 'a'), undefined);
  assert.equal(cache.get('inline', 'b3')?.[0], 0xee);
  assert.deepEqual(kept, patterned(2 * BLOCK_BYTES, 1), 'a copy being sent is not overwritten by later entries');
});

test('content cache: slab memory stays within the budget plus one largest entry however many blobs pass through', () => {
  const budget = 32 * BLOCK_BYTES;
  const cache = new BlobCache(budget, 4 * BLOCK_BYTES);
  let taken = 0;
  for (let i = 0; i < 2000; i++) {
    const content = patterned((i * 977) % (4 * BLOCK_BYTES + 1), i);
    // Asked for 1 to 6 times first, so that admission lets a good share of them push older ones out.
    for (let n = 0; n <= i % 6; n++) cache.get('inline', `k${i}`);
    cache.set('inline', `k${i}`, content);
    const back = cache.get('inline', `k${i}`);
    if (back) {
      taken++;
      assert.deepEqual(back, content, `k${i}`);
    }
  }
  assert.ok(taken > 200, `${taken} of 2000 blobs were taken`);
  assert.ok(cache.slabBytes <= budget + 4 * BLOCK_BYTES, `slabs hold ${cache.slabBytes} bytes`);
  // A cache smaller than its largest item refuses what does not fit, and takes no block for it.
  const tiny = new BlobCache(2 * BLOCK_BYTES, 8 * BLOCK_BYTES);
  for (let i = 0; i < 100; i++) tiny.set('inline', `big${i}`, Buffer.alloc(3 * BLOCK_BYTES));
  assert.equal(tiny.get('inline', 'big0'), undefined);
  tiny.set('inline', 'small', Buffer.alloc(BLOCK_BYTES, 5));
  assert.equal(tiny.get('inline', 'small')?.[0], 5);
  assert.ok(tiny.slabBytes <= 10 * BLOCK_BYTES, `slabs hold ${tiny.slabBytes} bytes`);
});
