import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BlobCache } from '../../src/vfs/blob-cache.js';

test('content cache: bounded by bytes, least recently used out, oversize and disabled caches keep nothing', () => {
  const cache = new BlobCache(1024, 100);
  cache.set('inline', 'empty', Buffer.alloc(0));
  cache.set('inline', 'big', Buffer.alloc(101));
  assert.equal(cache.get('inline', 'big'), undefined, 'over content_max_item_kb');
  assert.equal(cache.get('inline', 'empty')?.length, 0);
  for (let i = 0; i < 10; i++) cache.set('inline', `k${i}`, Buffer.alloc(100, i));
  cache.get('inline', 'k0');
  // 10 × 100 bytes and the empty one fill 1 KiB; three more push out the least recently used, not k0 just read.
  for (let i = 10; i < 13; i++) cache.set('inline', `k${i}`, Buffer.alloc(100, i));
  assert.equal(cache.get('inline', 'k0')?.[0], 0);
  assert.equal(cache.get('inline', 'k1'), undefined);
  assert.equal(cache.get('inline', 'k12')?.[0], 12);
  assert.equal(cache.get('localfs', 'k12'), undefined, 'keys are per backend');
  cache.delete('inline', 'k12');
  assert.equal(cache.get('inline', 'k12'), undefined);
  const off = new BlobCache(0, 100);
  off.set('inline', 'x', Buffer.alloc(1));
  assert.equal(off.get('inline', 'x'), undefined);
});
