import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { readSmall } from '../../src/vfs/backends/inline.js';
import { isVfsError, type VfsErrorCode } from '../../src/vfs/errors.js';

const code = (expected: VfsErrorCode) => (err: unknown) => isVfsError(err, expected);

describe('Reading a small body into memory', () => {
  test('a body of the declared length comes back whole, in a buffer of its own', async () => {
    const data = await readSmall(Readable.from([Buffer.from('hello, '), Buffer.from('world')]), 64, { expectedSize: 12 });
    assert.equal(data.toString(), 'hello, world');
    // Not a slice of a shared pool: the content cache may keep it.
    assert.equal(data.buffer.byteLength, data.length);
    assert.equal((await readSmall(Readable.from([]), 64, { expectedSize: 0 })).length, 0);
  });

  test('a body longer than declared, or than the limit, is refused and its stream destroyed', async () => {
    const longer = Readable.from([Buffer.alloc(10), Buffer.alloc(10)]);
    await assert.rejects(readSmall(longer, 64, { expectedSize: 15 }), code('INVALID_ARGUMENT'));
    assert.ok(longer.destroyed);
    const huge = Readable.from([Buffer.alloc(40), Buffer.alloc(40)]);
    await assert.rejects(readSmall(huge, 64), code('TOO_LARGE'));
    assert.ok(huge.destroyed);
  });

  test('a body that ends short of its declared length is ABORTED', async () => {
    await assert.rejects(readSmall(Readable.from([Buffer.alloc(5)]), 64, { expectedSize: 10 }), code('ABORTED'));
  });

  test('a stream that fails, or closes without ending, rejects; so does a stream already gone', async () => {
    const failing = new PassThrough();
    const read = readSmall(failing, 64);
    failing.write(Buffer.alloc(3));
    failing.destroy(new Error('connection reset'));
    await assert.rejects(read, /connection reset/);
    const closing = new PassThrough();
    const cut = readSmall(closing, 64, { expectedSize: 10 });
    closing.write(Buffer.alloc(3));
    closing.destroy();
    await assert.rejects(cut, code('ABORTED'));
    await assert.rejects(readSmall(closing, 64), code('ABORTED'));
  });

  test('an abort signal stops the read, before it starts or midway, and destroys the stream', async () => {
    const early = new AbortController();
    early.abort(new Error('client gone'));
    await assert.rejects(readSmall(Readable.from([Buffer.alloc(1)]), 64, { signal: early.signal }), /client gone/);
    const midway = new AbortController();
    const source = new PassThrough();
    const read = readSmall(source, 64, { signal: midway.signal });
    source.write(Buffer.alloc(3));
    midway.abort(new Error('client gone midway'));
    await assert.rejects(read, /client gone midway/);
    assert.ok(source.destroyed);
  });
});
