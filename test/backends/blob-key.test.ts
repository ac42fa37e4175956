import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BLOB_KEY_PATTERN, newBlobKey, newInlineBlobKey } from '../../src/vfs/backends/blob-key.js';

describe('Blob keys', () => {
  test('keys of content kept inline sort in the order they were made, one millisecond apart or more', () => {
    const start = Date.UTC(2026, 10, 23);
    const keys = Array.from({ length: 2000 }, (_, i) => newInlineBlobKey(start + i));
    assert.deepEqual([...keys].sort(), keys);
    // The time part outlasts any clock this code will meet: 12 hex digits of milliseconds reach the year 10889.
    assert.ok(newInlineBlobKey(Date.UTC(9999, 0, 1)) > newInlineBlobKey(start));
  });

  test('every key has the one format fsck and the backends accept, and none repeats within a millisecond', () => {
    const now = Date.now();
    const inline = Array.from({ length: 10_000 }, () => newInlineBlobKey(now));
    for (const key of [...inline, newInlineBlobKey(), newBlobKey()]) assert.match(key, BLOB_KEY_PATTERN);
    assert.equal(new Set(inline).size, inline.length);
    assert.ok(inline.every((key) => key.startsWith(now.toString(16).padStart(12, '0'))));
  });
});
