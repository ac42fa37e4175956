import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer } from '../helpers/server.js';

/** Holds every blob removal of the root's backend until `release` is called. */
function holdRemovals(s: Awaited<ReturnType<typeof startTestServer>>) {
  const backend = s.server.vfs.backends.forPath('/').backend;
  const original = backend.delete.bind(backend);
  const held: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  backend.delete = async (key: string) => {
    held.push(key);
    await gate;
    return original(key);
  };
  return { backend, held, release };
}

test('DELETE and an overwriting PUT answer before the old blob has left the disk; settled() and close() wait for it', { timeout: 60_000 }, async () => {
  const s = await startTestServer({ config: { backend: { inline_max_bytes: 0 } } });
  let closed = false;
  try {
    assert.equal((await s.request('PUT', '/v1/files/big.bin', { body: Buffer.alloc(100_000, 1) })).status, 201);
    assert.equal((await s.request('PUT', '/v1/files/other.bin', { body: Buffer.alloc(100_000, 2) })).status, 201);
    const oldKey = (await s.server.vfs.store.lookup('/big.bin'))!.blobKey!;
    const otherKey = (await s.server.vfs.store.lookup('/other.bin'))!.blobKey!;
    const { backend, held, release } = holdRemovals(s);

    assert.equal((await s.request('PUT', '/v1/files/big.bin', { body: Buffer.alloc(50_000, 3) })).status, 200);
    assert.equal((await s.request('DELETE', '/v1/files/other.bin')).status, 204);
    assert.deepEqual(held, [oldKey, otherKey], 'both removals started, neither finished');
    assert.ok(await backend.stat(oldKey), 'the replaced blob is still on disk when the PUT answers');
    assert.equal((await s.request('GET', '/v1/files/big.bin')).headers.get('content-length'), '50000');

    let settled = false;
    const settling = s.server.vfs.settled().then(() => (settled = true));
    const closing = s.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(settled || closed, false, 'settled() and close() wait for the held removals');
    release();
    await Promise.all([settling, closing]);
    assert.equal(await backend.stat(oldKey), null);
    assert.equal(await backend.stat(otherKey), null);
  } finally {
    if (!closed) await s.close();
  }
});
