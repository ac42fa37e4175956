import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('REST ranges and conditional requests', () => {
  let t: TestServer;
  let etag: string;
  let lastModified: string;
  const body = '0123456789abcdefghij';
  before(async () => {
    t = await startTestServer();
    const res = await t.request('PUT', '/v1/files/r.txt', { body });
    etag = res.headers.get('etag')!;
    lastModified = res.headers.get('last-modified')!;
  });
  after(() => t.close());

  const get = (headers: Record<string, string>) => t.request('GET', '/v1/files/r.txt', { headers });

  test('byte ranges: a-b, a-, -n answer 206 with Content-Range', async () => {
    for (const [range, expected, contentRange] of [
      ['bytes=0-3', '0123', 'bytes 0-3/20'],
      ['bytes=15-', 'fghij', 'bytes 15-19/20'],
      ['bytes=-4', 'ghij', 'bytes 16-19/20'],
      ['bytes=18-100', 'ij', 'bytes 18-19/20'],
    ] as const) {
      const res = await get({ range });
      assert.equal(res.status, 206, range);
      assert.equal(await res.text(), expected, range);
      assert.equal(res.headers.get('content-range'), contentRange, range);
      assert.equal(res.headers.get('content-length'), String(expected.length));
    }
  });

  test('an unsatisfiable range is 416 with bytes */size', async () => {
    const res = await get({ range: 'bytes=20-30' });
    assert.equal(res.status, 416);
    assert.equal(res.headers.get('content-range'), 'bytes */20');
    assert.equal(((await res.json()) as { code: string }).code, 'RANGE_NOT_SATISFIABLE');
  });

  test('a malformed or multi-range header is served whole', async () => {
    for (const range of ['bytes=abc', 'items=0-1', 'bytes=0-1,3-4', 'bytes=5-2']) {
      const res = await get({ range });
      assert.equal(res.status, 200, range);
      assert.equal(await res.text(), body);
    }
  });

  test('If-Range: the range applies only while the ETag matches', async () => {
    assert.equal((await get({ range: 'bytes=0-1', 'if-range': etag })).status, 206);
    const res = await get({ range: 'bytes=0-1', 'if-range': '"stale"' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), body);
  });

  test('If-None-Match and If-Modified-Since give 304', async () => {
    assert.equal((await get({ 'if-none-match': etag })).status, 304);
    assert.equal((await get({ 'if-none-match': `"x", W/${etag}` })).status, 304);
    assert.equal((await get({ 'if-none-match': '*' })).status, 304);
    assert.equal((await get({ 'if-none-match': '"other"' })).status, 200);
    assert.equal((await get({ 'if-modified-since': lastModified })).status, 304);
    assert.equal((await get({ 'if-modified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' })).status, 200);
    // If-None-Match wins over If-Modified-Since.
    assert.equal((await get({ 'if-none-match': '"other"', 'if-modified-since': lastModified })).status, 200);
  });

  test('If-Match on GET: 412 when it does not match', async () => {
    assert.equal((await get({ 'if-match': etag })).status, 200);
    assert.equal((await get({ 'if-match': '"other"' })).status, 412);
    assert.equal((await get({ 'if-unmodified-since': 'Mon, 01 Jan 2001 00:00:00 GMT' })).status, 412);
  });

  test('PUT with If-Match: replaces only the version the client saw', async () => {
    const first = await t.request('PUT', '/v1/files/cond.txt', { body: 'v1' });
    const v1 = first.headers.get('etag')!;
    const ok = await t.request('PUT', '/v1/files/cond.txt', { body: 'v2', headers: { 'if-match': v1 } });
    assert.equal(ok.status, 200);
    const stale = await t.request('PUT', '/v1/files/cond.txt', { body: 'v3', headers: { 'if-match': v1 } });
    assert.equal(stale.status, 412);
    assert.equal(((await stale.json()) as { code: string }).code, 'PRECONDITION_FAILED');
    assert.equal(await (await t.request('GET', '/v1/files/cond.txt')).text(), 'v2');
    assert.equal((await t.request('PUT', '/v1/files/missing-cond.txt', { body: 'x', headers: { 'if-match': '*' } })).status, 412);
    assert.equal((await t.request('HEAD', '/v1/files/missing-cond.txt')).status, 404);
  });

  test('PUT with If-None-Match: * creates only when absent', async () => {
    assert.equal((await t.request('PUT', '/v1/files/once.txt', { body: 'a', headers: { 'if-none-match': '*' } })).status, 201);
    assert.equal((await t.request('PUT', '/v1/files/once.txt', { body: 'b', headers: { 'if-none-match': '*' } })).status, 412);
    assert.equal(await (await t.request('GET', '/v1/files/once.txt')).text(), 'a');
  });

  test('DELETE with a stale If-Match is 412 and deletes nothing', async () => {
    await t.request('PUT', '/v1/files/keep.txt', { body: 'k' });
    assert.equal((await t.request('DELETE', '/v1/files/keep.txt', { headers: { 'if-match': '"nope"' } })).status, 412);
    assert.equal((await t.request('HEAD', '/v1/files/keep.txt')).status, 200);
  });

  test('Content-Type follows the extension', async () => {
    await t.request('PUT', '/v1/files/pic.png', { body: 'x' });
    await t.request('PUT', '/v1/files/data.unknownext', { body: 'x' });
    assert.equal((await t.request('GET', '/v1/files/pic.png')).headers.get('content-type'), 'image/png');
    assert.equal((await t.request('GET', '/v1/files/data.unknownext')).headers.get('content-type'), 'application/octet-stream');
  });
});
