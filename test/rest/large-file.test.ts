import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startChildServer, type ChildServer } from '../helpers/child-server.js';
import { patternStream, sha256Of } from '../helpers/http.js';
import { ADMIN_KEY } from '../helpers/server.js';

const GiB = 1024 * 1024 * 1024;
const RSS_LIMIT_KB = 200 * 1024;

function put(url: string, size: number): Promise<{ status: number; sha256: Promise<string> }> {
  const { stream, sha256 } = patternStream(size, 42);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-length': String(size) } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256 }));
    });
    req.on('error', reject);
    stream.pipe(req);
  });
}

function get(url: string): Promise<{ status: number; sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }, (res) => {
      sha256Of(res).then((r) => resolve({ status: res.statusCode ?? 0, ...r }), reject);
    }).on('error', reject);
  });
}

describe('REST streams large files in constant memory', { timeout: 600_000 }, () => {
  let s: ChildServer;
  before(async () => {
    s = await startChildServer();
  });
  after(() => s.stop());

  for (const size of [1024, 1024 * 1024 + 7, 64 * 1024 * 1024]) {
    test(`${size} bytes round-trip byte-exact`, async () => {
      const up = await put(`${s.url}/v1/files/f-${size}`, size);
      assert.equal(up.status, 201);
      const down = await get(`${s.url}/v1/files/f-${size}`);
      assert.equal(down.bytes, size);
      assert.equal(down.sha256, await up.sha256);
    });
  }

  test('1 GiB upload and download: byte-exact, server RSS under 200 MiB', async () => {
    const up = await put(`${s.url}/v1/files/huge.bin`, GiB);
    assert.equal(up.status, 201);
    const down = await get(`${s.url}/v1/files/huge.bin`);
    assert.equal(down.status, 200);
    assert.equal(down.bytes, GiB);
    assert.equal(down.sha256, await up.sha256);
    const peak = s.peakRssKb();
    assert.ok(peak < RSS_LIMIT_KB, `server peak RSS ${peak} kB`);
  });
});
