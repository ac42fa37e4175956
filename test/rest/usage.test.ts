import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertFreeSpaceBetween, readDisk } from '../helpers/disk.js';
import { startS3rver } from '../helpers/s3rver.js';
import { startTestServer } from '../helpers/server.js';

interface Usage {
  used_bytes: number;
  total_bytes: number | null;
  free_bytes: number | null;
  available_bytes: number | null;
}

test('GET /v1/usage: bytes stored, and the size and free space of the disk under localfs', async () => {
  const s = await startTestServer();
  try {
    const usage = async () => (await (await s.request('GET', '/v1/usage')).json()) as Usage;
    const before = await usage();
    assert.equal(before.used_bytes, 0);
    assert.equal((await s.request('PUT', '/v1/files/a.bin', { body: Buffer.alloc(300_000, 1) })).status, 201);
    assert.equal((await s.request('PUT', '/v1/files/small.txt', { body: 'twelve bytes' })).status, 201);
    const diskBefore = readDisk(s.dataDir);
    const after = await usage();
    const diskAfter = readDisk(s.dataDir);
    assert.equal(after.used_bytes, 300_012, 'inline and localfs content both count');
    assert.equal(after.total_bytes, diskAfter.totalBytes);
    assertFreeSpaceBetween(after.available_bytes!, diskBefore.availableBytes, diskAfter.availableBytes, 'available_bytes');
    assertFreeSpaceBetween(after.free_bytes!, diskBefore.freeBytes, diskAfter.freeBytes, 'free_bytes');
    assert.ok(after.free_bytes! >= after.available_bytes!);

    assert.equal((await s.request('DELETE', '/v1/files/a.bin')).status, 204);
    assert.equal((await usage()).used_bytes, 12);
    assert.equal((await s.request('GET', '/v1/usage', { key: null })).status, 401);
  } finally {
    await s.close();
  }
});

test('GET /v1/usage: an S3 backend has no size, so only the bytes stored are known', async () => {
  const s3 = await startS3rver();
  const s = await startTestServer({ config: { backend: { default_backend: 's3', ...s3.config() } } });
  try {
    assert.equal((await s.request('PUT', '/v1/files/a.bin', { body: Buffer.alloc(100_000, 1) })).status, 201);
    assert.deepEqual(await (await s.request('GET', '/v1/usage')).json(), { used_bytes: 100_000, total_bytes: null, free_bytes: null, available_bytes: null });
  } finally {
    await s.close();
    await s3.close();
  }
});

test('GET /v1/usage and a quota PROPFIND still answer when the disk cannot be asked for its size', async () => {
  const s = await startTestServer({ config: { log: { level: 'fatal' } } });
  try {
    const backend = s.server.vfs.backends.forPath('/').backend;
    backend.capacity = () => Promise.reject(Object.assign(new Error('statfs failed'), { code: 'EIO' }));
    assert.deepEqual(await (await s.request('GET', '/v1/usage')).json(), { used_bytes: 0, total_bytes: null, free_bytes: null, available_bytes: null });
    const body = '<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/><D:quota-available-bytes/></D:prop></D:propfind>';
    const res = await s.request('PROPFIND', '/dav/', { headers: { depth: '0' }, body });
    assert.equal(res.status, 207);
    const text = await res.text();
    assert.match(text, /<D:quota-used-bytes>0<\/D:quota-used-bytes>/);
    assert.match(text, /quota-available-bytes\/><\/D:prop><D:status>HTTP\/1.1 404/, 'the free space is reported as unknown');
  } finally {
    await s.close();
  }
});
