// REST through a real CallFS server whose /s3 directory is mounted on a real S3 (s3rver).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Backend } from '../../src/vfs/backends/backend.js';
import { LocalFsBackend } from '../../src/vfs/backends/localfs.js';
import { recordWrites } from '../helpers/backend-writes.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../helpers/server.js';
import { startS3rver, type RunningS3rver } from '../helpers/s3rver.js';
import { cutOffUpload, randomBody, sha256, streamRequest, waitFor } from '../helpers/streams.js';

const MiB = 1024 * 1024;
const auth = { authorization: `Bearer ${ADMIN_KEY}` };

async function keysOf(backend: Backend): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const b of backend.list()) out.add(b.key);
  return out;
}

describe('REST over the s3 backend (s3rver), /s3 mounted beside localfs', () => {
  let s3: RunningS3rver;
  let srv: TestServer;
  let s3Store: Backend;
  let localStore: LocalFsBackend;
  const files = (p: string) => `${srv.url}/v1/files${p}`;

  before(async () => {
    s3 = await startS3rver();
    srv = await startTestServer({
      config: { log: { level: 'error' }, backend: { default_backend: 'localfs', mounts: [{ path: '/s3', backend: 's3' }], ...s3.config(), s3_breaker_cooldown: 1, inline_max_bytes: 0 } },
    });
    s3Store = s3.backend();
    localStore = new LocalFsBackend(path.join(srv.dataDir, 'localfs'));
  });
  after(async () => {
    await srv?.close();
    await s3Store?.close();
    await s3?.close();
  });

  for (const size of [1024, 5 * MiB + 1, 40 * MiB]) {
    test(`${size} bytes up and down byte-exact, stored in the bucket`, async () => {
      const before = await keysOf(s3Store);
      const body = randomBody(size);
      const put = await streamRequest(files(`/s3/up/${size}.bin?parents=1`), { method: 'PUT', headers: auth, body: body.stream });
      assert.equal(put.status, 201, put.head.toString());
      const get = await streamRequest(files(`/s3/up/${size}.bin`), { method: 'GET', headers: auth });
      assert.equal(get.status, 200);
      assert.equal(get.bytes, size);
      assert.equal(get.sha256, body.sha256());
      const added = [...(await keysOf(s3Store))].filter((k) => !before.has(k));
      assert.equal(added.length, 1, 'exactly one new object in the bucket');
      const node = await srv.server.vfs.store.lookup(`/s3/up/${size}.bin`);
      assert.equal(node?.backend, 's3');
      assert.equal(node?.blobKey, added[0]);
    });
  }

  test('ranges are served from S3 byte-exact', async () => {
    const data = randomBytes(6 * MiB + 5);
    assert.equal((await srv.request('PUT', '/v1/files/s3/ranged.bin', { body: data })).status, 201);
    const cases: Array<[string, number, number]> = [
      ['bytes=0-0', 0, 0],
      ['bytes=1000-2999', 1000, 2999],
      [`bytes=${5 * MiB - 10}-${5 * MiB + 10}`, 5 * MiB - 10, 5 * MiB + 10],
      ['bytes=-7', data.length - 7, data.length - 1],
      [`bytes=${data.length - 1}-`, data.length - 1, data.length - 1],
    ];
    for (const [header, start, end] of cases) {
      const res = await srv.request('GET', '/v1/files/s3/ranged.bin', { headers: { range: header } });
      assert.equal(res.status, 206, header);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data.subarray(start, end + 1)), header);
    }
  });

  test('a move from localfs into /s3 and back copies content across, and the old blobs go', async () => {
    const a = randomBytes(7 * MiB + 3);
    const b = Buffer.from('small file in a subdirectory');
    assert.equal((await srv.request('PUT', '/v1/files/local/tree/a.bin?parents=1', { body: a })).status, 201);
    assert.equal((await srv.request('PUT', '/v1/files/local/tree/sub/b.txt?parents=1', { body: b })).status, 201);
    assert.equal((await srv.request('PUT', '/v1/files/local/tree/empty.txt', { body: '' })).status, 201);
    const store = srv.server.vfs.store;
    const localKeys = [(await store.lookup('/local/tree/a.bin'))!.blobKey!, (await store.lookup('/local/tree/sub/b.txt'))!.blobKey!];
    for (const k of localKeys) assert.ok(await localStore.stat(k), 'blob starts on localfs');

    const moved = await srv.request('PATCH', '/v1/files/local/tree', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: '/s3/tree' }) });
    assert.equal(moved.status, 200, await moved.text());
    assert.equal((await srv.request('GET', '/v1/files/local/tree')).status, 404);
    const s3A = (await store.lookup('/s3/tree/a.bin'))!;
    const s3B = (await store.lookup('/s3/tree/sub/b.txt'))!;
    assert.equal(s3A.backend, 's3');
    assert.equal(s3B.backend, 's3');
    assert.ok(Buffer.from(await (await srv.request('GET', '/v1/files/s3/tree/a.bin')).arrayBuffer()).equals(a));
    assert.ok(Buffer.from(await (await srv.request('GET', '/v1/files/s3/tree/sub/b.txt')).arrayBuffer()).equals(b));
    assert.equal((await srv.request('GET', '/v1/files/s3/tree/empty.txt')).status, 200);
    // The old blobs leave their backend behind the answer.
    await srv.server.vfs.settled();
    for (const k of localKeys) assert.equal(await localStore.stat(k), null, 'old localfs blob removed');
    assert.ok(await s3Store.stat(s3A.blobKey!));

    const back = await srv.request('PATCH', '/v1/files/s3/tree', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: '/local/back' }) });
    assert.equal(back.status, 200, await back.text());
    assert.ok(Buffer.from(await (await srv.request('GET', '/v1/files/local/back/a.bin')).arrayBuffer()).equals(a));
    assert.ok(Buffer.from(await (await srv.request('GET', '/v1/files/local/back/sub/b.txt')).arrayBuffer()).equals(b));
    assert.equal((await store.lookup('/local/back/a.bin'))!.backend, 'localfs');
    await srv.server.vfs.settled();
    assert.equal(await s3Store.stat(s3A.blobKey!), null, 'old s3 object removed');
    assert.equal(await s3Store.stat(s3B.blobKey!), null, 'old s3 object removed');

    // Within one backend a move stays a metadata change: same blob, nothing copied.
    const localA = (await store.lookup('/local/back/a.bin'))!.blobKey;
    const renamed = await srv.request('PATCH', '/v1/files/local/back', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: '/elsewhere' }) });
    assert.equal(renamed.status, 200);
    assert.equal((await store.lookup('/elsewhere/a.bin'))!.blobKey, localA);
  });

  test('an upload cut off mid-body leaves no file and no object', async () => {
    const before = await keysOf(s3Store);
    const writes = recordWrites(srv.server.vfs.backends.byName('s3'));
    // No Content-Length: a body of unknown length, streamed into a multipart upload.
    await cutOffUpload(files('/s3/cut.bin'), { ...auth, 'transfer-encoding': 'chunked' }, 12 * MiB);
    await waitFor('the server to start writing', () => writes.length === 1);
    const outcome = await writes[0]!;
    assert.ok(outcome instanceof Error, 'the backend write failed');
    assert.notEqual((outcome as Error & { code?: string }).code, 'UNAVAILABLE', 'a client that goes away is not an S3 outage');
    assert.equal((await srv.request('GET', '/v1/files/s3/cut.bin')).status, 404);
    assert.deepEqual(await keysOf(s3Store), before, 'no completed object in the bucket');
  });

  test('S3 stopped mid-run: 503 with Retry-After quickly, /health degraded, and service resumes', async () => {
    const kept = randomBytes(MiB);
    assert.equal((await srv.request('PUT', '/v1/files/s3/kept.bin', { body: kept })).status, 201);
    assert.equal((await srv.request('PUT', '/v1/files/local/still-here.txt', { body: 'local' })).status, 201);

    await s3.stop();
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const res = await srv.request('GET', '/v1/files/s3/kept.bin');
      assert.equal(res.status, 503, `attempt ${i}`);
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
      await res.arrayBuffer();
      assert.ok(Date.now() - started < 15_000, `a 503 within seconds, not a hang (took ${Date.now() - started} ms)`);
    }
    const put = await srv.request('PUT', '/v1/files/s3/during-outage.bin', { body: randomBytes(1024) });
    assert.equal(put.status, 503);
    const health = await srv.request('GET', '/health', { key: null });
    const report = (await health.json()) as { status: string; checks: Record<string, { status: string }> };
    assert.equal(report.status, 'degraded');
    assert.equal(report.checks['backend:s3']?.status, 'degraded');
    assert.equal(report.checks['backend:localfs']?.status, 'ok');
    assert.equal(await (await srv.request('GET', '/v1/files/local/still-here.txt')).text(), 'local', 'localfs part of the tree still served');
    const move = await srv.request('PATCH', '/v1/files/local/still-here.txt', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: '/s3/moved-in-outage.txt' }) });
    assert.equal(move.status, 503, 'a move whose content cannot reach S3 fails as a whole');
    assert.equal(await (await srv.request('GET', '/v1/files/local/still-here.txt')).text(), 'local', 'the source of a failed move is intact');
    assert.equal((await srv.request('GET', '/v1/files/s3/moved-in-outage.txt')).status, 404);

    await s3.start();
    await waitFor('S3 reads to work again', async () => {
      const res = await srv.request('GET', '/v1/files/s3/kept.bin');
      const body = Buffer.from(await res.arrayBuffer());
      return res.status === 200 && sha256(body) === sha256(kept);
    });
    await waitFor('/health ok again', async () => ((await (await srv.request('GET', '/health', { key: null })).json()) as { status: string }).status === 'ok');
    assert.equal((await srv.request('PUT', '/v1/files/s3/after-outage.bin', { body: 'back' })).status, 201);
  });
});
