import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { ROOT_PRINCIPAL } from '../../src/vfs/types.js';
import { startChildServer } from '../helpers/child-server.js';
import { patternStream, sha256Of } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';
import { ADMIN_BASIC } from './dav-client.js';

test('PROPFIND Depth 1 on a 10,000-entry collection is answered completely and streamed', { timeout: 300_000 }, async (t) => {
  const server = await startTestServer({ config: { backend: { default_backend: 'noop' } } });
  try {
    const ctx = { principal: ROOT_PRINCIPAL };
    await server.server.vfs.mkdir(ctx, '/big');
    // In parallel batches, so that group commit makes the set-up quick.
    for (let i = 0; i < 10_000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => server.server.vfs.writeFile(ctx, `/big/entry-${String(i + j).padStart(5, '0')}.txt`, Readable.from([Buffer.from('x')]))),
      );
    }
    const props = '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/></D:prop></D:propfind>';
    const timings: number[] = [];
    for (const body of [props, props, undefined]) {
      const started = performance.now();
      const r = await fetch(`${server.url}/dav/big/`, { method: 'PROPFIND', headers: { depth: '1', authorization: ADMIN_BASIC }, body });
      assert.equal(r.status, 207);
      // Streamed: no Content-Length, the body arrives in many chunks.
      assert.equal(r.headers.get('content-length'), null);
      let chunks = 0;
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        chunks++;
        text += decoder.decode(chunk, { stream: true });
      }
      timings.push(performance.now() - started);
      assert.ok(chunks > 10, `expected a streamed body, got ${chunks} chunk(s)`);
      assert.equal(text.match(/<D:response>/g)!.length, 10_001);
      assert.ok(text.includes('<D:href>/dav/big/entry-09999.txt</D:href>'));
      assert.ok(text.trimEnd().endsWith('</D:multistatus>'));
    }
    t.diagnostic(`PROPFIND Depth 1 of 10,000 entries: ${timings.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} (named props ×2, allprop)`);
  } finally {
    await server.close();
  }
});

test('1 GiB PUT and GET through WebDAV with the server process under 200 MiB RSS (VmHWM)', { timeout: 900_000 }, async (t) => {
  const server = await startChildServer();
  try {
    const total = 1024 * 1024 * 1024;
    const upload = patternStream(total, 7);
    const put = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${server.url}/dav/one-gib.bin`, { method: 'PUT', headers: { authorization: ADMIN_BASIC, 'content-length': String(total) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      upload.stream.pipe(req);
    });
    assert.equal(put, 201);
    const afterPut = server.peakRssKb();
    const get = await fetch(`${server.url}/dav/one-gib.bin`, { headers: { authorization: ADMIN_BASIC } });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-length'), String(total));
    const received = await sha256Of(get.body as unknown as AsyncIterable<Uint8Array>);
    assert.equal(received.bytes, total);
    assert.equal(received.sha256, await upload.sha256);
    const hwm = server.peakRssKb();
    t.diagnostic(`server VmHWM after PUT: ${afterPut} kB, after GET: ${hwm} kB`);
    assert.ok(hwm < 204_800, `server peak RSS ${hwm} kB is over 200 MiB`);
  } finally {
    await server.stop();
  }
});
