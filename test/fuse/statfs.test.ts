import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statfsOf } from '../../src/fuse/statfs.js';

const TiB = 2 ** 40;

test('statfs counts a disk in 4 KiB blocks, and a disk too large for 32-bit counts in larger ones', () => {
  const small = statfsOf({ used_bytes: 10, total_bytes: 100 * 4096, free_bytes: 60 * 4096, available_bytes: 50 * 4096 + 100 });
  assert.deepEqual([small.frsize, small.blocks, small.bfree, small.bavail], [4096, 100, 60, 50]);
  // The binding hands the kernel 32-bit figures: 64 TiB in 4 KiB blocks would wrap around.
  const large = statfsOf({ used_bytes: 0, total_bytes: 64 * TiB, free_bytes: 32 * TiB, available_bytes: 31 * TiB });
  assert.equal(large.frsize, 4096 * 8, 'the smallest power of two that fits');
  assert.ok(large.blocks < 2 ** 32);
  assert.equal(large.blocks * large.frsize, 64 * TiB);
  assert.equal(large.bavail * large.frsize, 31 * TiB);
});

test('statfs of a backend without a size (S3) or of a server without /v1/usage: stored bytes used, 8 TiB free', () => {
  const s3 = statfsOf({ used_bytes: 5 * 4096, total_bytes: null, free_bytes: null, available_bytes: null });
  assert.deepEqual([s3.blocks - s3.bfree, s3.bavail * s3.frsize], [5, 8 * TiB]);
  const old = statfsOf(null);
  assert.equal(old.blocks, old.bfree);
  assert.ok(old.files > 0 && old.namemax === 255);
});
