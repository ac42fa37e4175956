import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, startTestServer, type TestServer } from '../helpers/server.js';
import { cutUpload, rawRequest, waitFor } from '../helpers/http.js';

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

/** Backend writes that have settled (succeeded or failed, cleanup included). */
async function settledWrites(t: TestServer): Promise<number> {
  const { values } = await t.server.metrics.backendOps.get();
  return values.filter((v) => v.labels.operation === 'create').reduce((a, v) => a + v.value, 0);
}

describe('REST under hostile input and concurrency', () => {
  let t: TestServer;
  let port: number;
  before(async () => {
    // These tests watch blobs and temp files on disk: keep small files out of the inline store.
    t = await startTestServer({ config: { backend: { inline_max_bytes: 0 } } });
    port = Number(new URL(t.url).port);
  });
  after(() => t.close());

  test('hostile paths are 400 on every method and write nothing anywhere', async () => {
    const before = filesUnder(path.join(t.dataDir, 'localfs')).length;
    const escapeTargets = ['x', 'escape', 'a/x'].map((p) => path.resolve(t.dataDir, '..', p));
    const hostile = [
      '/v1/files/../../etc/passwd',
      '/v1/files/..',
      '/v1/files/a/../../x',
      '/v1/files/%2e%2e/x',
      '/v1/files/%2E%2E%2Fescape',
      '/v1/files/a%00b',
      '/v1/files/a%0ab',
      '/v1/files/a%7Fb',
      '/v1/files/%ff%fe',
      '/v1/files/bad%zzescape',
      '/v1/files/' + 'n'.repeat(256),
      '/v1/files/' + encodeURIComponent('é'.repeat(128)),
      '/v1/files/' + 'd/'.repeat(2100) + 'f',
    ];
    for (const p of hostile) {
      for (const method of ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH']) {
        const res = await rawRequest(port, method, p, ADMIN_KEY);
        assert.equal(res.status, 400, `${method} ${p.slice(0, 60)} → ${res.status} ${res.body}`);
        if (method !== 'HEAD') assert.match(res.body, /"code":"(INVALID_PATH|INVALID_ARGUMENT|BAD_REQUEST)"/, `${method} ${p.slice(0, 40)}`);
      }
    }
    assert.equal(filesUnder(path.join(t.dataDir, 'localfs')).length, before);
    for (const target of escapeTargets) assert.equal(existsSync(target), false, target);
    const root = (await (await t.request('GET', '/v1/files/')).json()) as unknown[];
    assert.equal(root.length, 0);
  });

  test('a name of exactly 255 bytes is fine; `.` and `//` collapse', async () => {
    const name = 'n'.repeat(255);
    assert.equal((await t.request('PUT', `/v1/files/${name}`, { body: 'x' })).status, 201);
    assert.equal((await rawRequest(port, 'GET', '/v1/files//./' + name, ADMIN_KEY)).status, 200);
    assert.equal((await rawRequest(port, 'GET', `/v1/files/sub/../${name}`, ADMIN_KEY)).status, 200);
  });

  test('an upload cut off mid-body keeps the previous content and leaves no blob or temp file', async () => {
    await t.request('PUT', '/v1/files/victim.bin', { body: 'the original content' });
    const blobsBefore = filesUnder(path.join(t.dataDir, 'localfs')).sort();
    const writesBefore = await settledWrites(t);
    await cutUpload(`${t.url}/v1/files/victim.bin`, ADMIN_KEY, 10 * 1024 * 1024, 3 * 1024 * 1024);
    await cutUpload(`${t.url}/v1/files/new-victim.bin`, ADMIN_KEY, 10 * 1024 * 1024, 1024 * 1024);
    // The server notices the disconnects asynchronously: wait until both writes have failed and cleaned up.
    await waitFor(async () => (await settledWrites(t)) === writesBefore + 2, 'both cut-off writes to settle');
    assert.equal(await (await t.request('GET', '/v1/files/victim.bin')).text(), 'the original content');
    assert.equal((await t.request('HEAD', '/v1/files/new-victim.bin')).status, 404);
    assert.deepEqual(filesUnder(path.join(t.dataDir, 'localfs')).sort(), blobsBefore);
  });

  test('a body shorter than its Content-Length never becomes the file', async () => {
    await t.request('PUT', '/v1/files/short.txt', { body: 'keep' });
    const writesBefore = await settledWrites(t);
    await cutUpload(`${t.url}/v1/files/short.txt`, ADMIN_KEY, 100, 10);
    await waitFor(async () => (await settledWrites(t)) === writesBefore + 1, 'the cut-off write to settle');
    assert.deepEqual(filesUnder(path.join(t.dataDir, 'localfs', 'tmp')), []);
    assert.equal(await (await t.request('GET', '/v1/files/short.txt')).text(), 'keep');
  });

  test('20 concurrent PUTs to one path leave exactly one whole body, and no orphan blobs', async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(256 * 1024 + i, 65 + i));
    const results = await Promise.all(bodies.map((body) => t.request('PUT', '/v1/files/contended.bin', { body })));
    for (const r of results) assert.ok(r.status === 200 || r.status === 201, `status ${r.status}`);
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    const final = Buffer.from(await (await t.request('GET', '/v1/files/contended.bin')).arrayBuffer());
    assert.ok(bodies.some((b) => b.equals(final)), 'the file is exactly one of the bodies');
    const etags = new Set(results.map((r) => r.headers.get('etag')));
    assert.equal(etags.size, 20);
    const head = await t.request('HEAD', '/v1/files/contended.bin');
    assert.ok(etags.has(head.headers.get('etag')));
    // Every replaced version's blob was removed: one blob per file remains.
    const listing = (await (await t.request('GET', '/v1/directories/?recursive=true')).json()) as { items: Array<{ type: string; size: number }> };
    const nonEmptyFiles = listing.items.filter((i) => i.type === 'file' && i.size > 0).length;
    await waitFor(() => filesUnder(path.join(t.dataDir, 'localfs', 'blobs')).length === nonEmptyFiles, 'old blobs to be removed');
  });

  test('JSON bodies over the limit are 413, never buffered', async () => {
    await t.request('PUT', '/v1/files/j.txt', { body: 'x' });
    const res = await t.request('PATCH', '/v1/files/j.txt', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: 'x'.repeat(200_000) }) });
    assert.equal(res.status, 413);
  });
});
