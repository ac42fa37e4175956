import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { NoopBackend } from '../../src/vfs/backends/noop.js';

test('noop discards content but reports and serves its length', async () => {
  const b = new NoopBackend();
  const stored = await b.write(Readable.from([Buffer.alloc(1000)]));
  assert.equal(stored.size, 1000);
  let n = 0;
  for await (const c of await b.read(stored.key, { start: 10, end: 109 })) n += (c as Buffer).length;
  assert.equal(n, 100);
});
