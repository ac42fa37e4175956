import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, truncateSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { LocalFsBackend } from '../../src/vfs/backends/localfs.js';
import { localfsRootPath } from '../../src/vfs/build.js';
import { ROOT_PRINCIPAL } from '../../src/vfs/types.js';
import { waitFor } from '../helpers/http.js';
import { ADMIN_KEY, startTestServer, type TestServer } from '../helpers/server.js';

// Bodies of 1 MiB and more on localfs are sent through two reused 512 KiB buffers (src/http/send-positional.ts).
const SIZE = 3 * 1024 * 1024 + 5;

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function requestCount(s: TestServer, labels: string): Promise<number> {
  const text = await (await s.request('GET', '/metrics')).text();
  const line = text.split('\n').find((l) => l.startsWith(`callfs_http_requests_total{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('large bodies from localfs: whole, ranged, cut short', () => {
  let s: TestServer;
  const logLines: string[] = [];
  const content = randomBytes(SIZE);
  before(async () => {
    s = await startTestServer({ logLines });
    assert.equal((await s.request('PUT', '/v1/files/big.bin', { body: content })).status, 201);
  });
  after(() => s.close());

  test('the whole file and ranges across chunk boundaries come back byte for byte, over REST and WebDAV', async () => {
    for (const base of ['/v1/files/big.bin', '/dav/big.bin']) {
      const whole = await s.request('GET', base);
      assert.equal(whole.status, 200);
      assert.equal(whole.headers.get('content-length'), String(SIZE));
      assert.ok(Buffer.from(await whole.arrayBuffer()).equals(content), `${base}: whole body`);
      const ranges: Array<[string, number, number]> = [
        ['bytes=1000-1600000', 1000, 1600000],
        [`bytes=${SIZE - 1500000}-`, SIZE - 1500000, SIZE - 1],
        ['bytes=-1048577', SIZE - 1048577, SIZE - 1],
        ['bytes=524287-1572864', 524287, 1572864],
      ];
      for (const [range, start, end] of ranges) {
        const part = await s.request('GET', base, { headers: { range } });
        assert.equal(part.status, 206, `${base} ${range}`);
        assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/${SIZE}`);
        assert.equal(part.headers.get('content-length'), String(end - start + 1));
        assert.ok(Buffer.from(await part.arrayBuffer()).equals(content.subarray(start, end + 1)), `${base} ${range}: body`);
      }
    }
  });

  test('such a response is counted in the request metrics like any other', async () => {
    const labels = 'method="GET",path="/v1/files/*",status_code="200"';
    const before = await requestCount(s, labels);
    const res = await s.request('GET', '/v1/files/big.bin');
    await res.arrayBuffer();
    await waitFor(async () => (await requestCount(s, labels)) === before + 1, 'the GET counted once');
  });

  test('a client that leaves mid-body: the file is closed and the server goes on serving', async () => {
    const fdsBefore = openFds();
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${s.url}/v1/files/big.bin`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    });
    await waitFor(() => openFds() <= fdsBefore, 'the blob file and the connection closed');
    const again = await s.request('GET', '/v1/files/big.bin', { headers: { range: 'bytes=0-9' } });
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), content.subarray(0, 10));
  });

  test('a blob shorter than its metadata cuts the connection, never sends wrong bytes, and is logged', async () => {
    assert.equal((await s.request('PUT', '/v1/files/short.bin', { body: content })).status, 201);
    const { blobKey } = await s.server.vfs.stat({ principal: ROOT_PRINCIPAL }, '/short.bin');
    truncateSync(new LocalFsBackend(localfsRootPath(s.config)).pathOf(blobKey!), 1024 * 1024 + 100);
    const received = await new Promise<{ bytes: Buffer; complete: boolean }>((resolve, reject) => {
      http
        .get(`${s.url}/v1/files/short.bin`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }, (res) => {
          assert.equal(res.statusCode, 200);
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('close', () => resolve({ bytes: Buffer.concat(chunks), complete: res.complete }));
        })
        .on('error', reject);
    });
    assert.equal(received.complete, false, 'the body is cut short, not ended as if whole');
    assert.ok(received.bytes.length < SIZE);
    assert.ok(received.bytes.equals(content.subarray(0, received.bytes.length)), 'what arrived is the file’s own bytes');
    await waitFor(() => logLines.some((l) => l.includes('reading a file failed after its headers were sent')), 'the warning');
    assert.equal((await s.request('GET', '/v1/files/big.bin', { headers: { range: 'bytes=0-9' } })).status, 206);
  });
});
