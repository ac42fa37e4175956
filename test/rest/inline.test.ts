import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT_PRINCIPAL } from '../../src/vfs/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

function blobFiles(dataDir: string): number {
  const dir = path.join(dataDir, 'localfs', 'blobs');
  return existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).length : 0;
}

async function inlineKeys(t: TestServer): Promise<string[]> {
  const keys: string[] = [];
  for await (const b of t.server.vfs.store.inlineBlobs()) keys.push(b.key);
  return keys;
}

describe('small files live inline in the metadata store', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ config: { backend: { inline_max_bytes: 4096 } } });
  });
  after(() => t.close());

  test('a small PUT writes no file; GET, ranges and ETags behave as for any file', async () => {
    const put = await t.request('PUT', '/v1/files/small.txt', { body: 'tiny content' });
    assert.equal(put.status, 201);
    assert.equal(blobFiles(t.dataDir), 0);
    assert.equal((await inlineKeys(t)).length, 1);
    const get = await t.request('GET', '/v1/files/small.txt');
    assert.equal(await get.text(), 'tiny content');
    assert.equal(get.headers.get('etag'), put.headers.get('etag'));
    const range = await t.request('GET', '/v1/files/small.txt', { headers: { range: 'bytes=5-11' } });
    assert.equal(range.status, 206);
    assert.equal(await range.text(), 'content');
  });

  test('a small file just written is read back from memory, not from the store', async () => {
    await t.request('PUT', '/v1/files/fresh.txt', { body: 'written just now' });
    const node = await t.server.vfs.store.lookup('/fresh.txt');
    // With its row gone, only the content cache can still answer.
    await t.server.vfs.store.deleteInlineBlob(node!.blobKey!);
    const get = await t.request('GET', '/v1/files/fresh.txt');
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'written just now');
  });

  test('replacing and deleting remove the old inline blob', async () => {
    await t.request('PUT', '/v1/files/churn.txt', { body: 'v1' });
    const before = (await inlineKeys(t)).length;
    await t.request('PUT', '/v1/files/churn.txt', { body: 'v2' });
    assert.equal((await inlineKeys(t)).length, before);
    assert.equal(await (await t.request('GET', '/v1/files/churn.txt')).text(), 'v2');
    assert.equal((await t.request('DELETE', '/v1/files/churn.txt')).status, 204);
    assert.equal((await inlineKeys(t)).length, before - 1);
  });

  test('replacing or deleting drops the old inline blobs in the transaction that drops their files', async () => {
    const store = t.server.vfs.store;
    const before = await inlineKeys(t);
    const deleteOutside = store.deleteInlineBlob;
    let deletedOutside = 0;
    store.deleteInlineBlob = (key) => (deletedOutside++, deleteOutside.call(store, key));
    try {
      await t.request('PUT', '/v1/files/tree/one.txt?parents=true', { body: 'one' });
      await t.request('PUT', '/v1/files/tree/two.txt', { body: 'two' });
      await t.request('PUT', '/v1/files/tree/one.txt', { body: 'one, again' });
      await t.request('PUT', '/v1/files/kept.txt', { body: 'kept' });
      const live = async () => {
        const keys: string[] = [];
        for (const p of ['/tree/one.txt', '/tree/two.txt', '/kept.txt']) {
          const node = await store.lookup(p);
          if (node?.blobKey) keys.push(node.blobKey);
        }
        return keys.sort();
      };
      assert.deepEqual((await inlineKeys(t)).filter((k) => !before.includes(k)).sort(), await live());
      assert.equal((await t.request('DELETE', '/v1/files/tree?recursive=true')).status, 204);
      assert.deepEqual((await inlineKeys(t)).filter((k) => !before.includes(k)).sort(), await live());
      // No separate write after each commit: nothing was left for one.
      assert.equal(deletedOutside, 0);
    } finally {
      store.deleteInlineBlob = deleteOutside;
    }
  });

  test('bodies over the limit, or without a declared length, go to the backend', async () => {
    await t.request('PUT', '/v1/files/big.bin', { body: Buffer.alloc(4097, 1) });
    assert.equal(blobFiles(t.dataDir), 1);
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('no length'));
        c.close();
      },
    });
    await t.request('PUT', '/v1/files/chunked.txt', { body: chunked });
    assert.equal(blobFiles(t.dataDir), 2);
    assert.equal(await (await t.request('GET', '/v1/files/chunked.txt')).text(), 'no length');
  });

  test('rename keeps the content inline; copy makes an independent inline copy', async () => {
    await t.request('PUT', '/v1/files/a/one.txt?parents=true', { body: 'one' });
    const files = blobFiles(t.dataDir);
    const moved = await t.request('PATCH', '/v1/files/a', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: '/b' }) });
    assert.equal(moved.status, 200);
    assert.equal(await (await t.request('GET', '/v1/files/b/one.txt')).text(), 'one');
    await t.server.vfs.copy({ principal: ROOT_PRINCIPAL }, '/b', '/c');
    await t.request('PUT', '/v1/files/b/one.txt', { body: 'changed' });
    assert.equal(await (await t.request('GET', '/v1/files/c/one.txt')).text(), 'one');
    assert.equal(blobFiles(t.dataDir), files);
  });

  test('a body shorter than declared is refused and stores nothing', async () => {
    const keys = (await inlineKeys(t)).length;
    const { cutUpload } = await import('../helpers/http.js');
    const { ADMIN_KEY } = await import('../helpers/server.js');
    await cutUpload(`${t.url}/v1/files/cut.txt`, ADMIN_KEY, 1000, 10);
    assert.equal((await t.request('HEAD', '/v1/files/cut.txt')).status, 404);
    assert.equal((await inlineKeys(t)).length, keys);
  });
});
