import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALICE, BOB, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/http.js';

const json = { 'content-type': 'application/json' };

describe('single-use links', () => {
  let t: TestServer;
  const generate = (path: string, expiry_seconds: unknown = 60, key?: string) =>
    t.request('POST', '/v1/links/generate', { key, headers: json, body: JSON.stringify({ path, expiry_seconds }) });
  const tokenOf = async (res: Response) => ((await res.json()) as { token: string }).token;

  before(async () => {
    t = await startTestServer({ config: { server: { external_url: 'files.example.com' }, links: { generate_per_minute: 1000 } } });
    await t.request('PUT', '/v1/files/report final é.pdf', { body: 'the report' });
  });
  after(() => t.close());

  test('generate → 201 {url, token, expires}; the link downloads once, then 410', async () => {
    const res = await generate('/report final é.pdf', 120);
    assert.equal(res.status, 201);
    const body = (await res.json()) as { url: string; token: string; expires: string };
    assert.equal(body.url, `https://files.example.com/download/${body.token}`);
    const expires = Date.parse(body.expires);
    assert.ok(Math.abs(expires - (Date.now() + 120_000)) < 10_000);
    const first = await fetch(`${t.url}/download/${body.token}`);
    assert.equal(first.status, 200);
    assert.equal(await first.text(), 'the report');
    assert.equal(first.headers.get('content-disposition'), `attachment; filename="report final _.pdf"; filename*=UTF-8''report%20final%20%C3%A9.pdf`);
    assert.equal(first.headers.get('content-type'), 'application/pdf');
    const second = await fetch(`${t.url}/download/${body.token}`);
    assert.equal(second.status, 410);
    assert.equal(((await second.json()) as { code: string }).code, 'LINK_USED');
  });

  test('forged, mangled and unknown tokens are 404', async () => {
    const real = await tokenOf(await generate('/report final é.pdf'));
    const [id, mac] = real.split('.') as [string, string];
    const forged = `${id}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    for (const token of [forged, 'nonsense', `${'A'.repeat(24)}.${'B'.repeat(32)}`, real + 'x']) {
      const res = await fetch(`${t.url}/download/${encodeURIComponent(token)}`);
      assert.equal(res.status, 404, token);
    }
    assert.equal((await fetch(`${t.url}/download/${real}`)).status, 200);
  });

  test('an expired link is 410', async () => {
    const res = await generate('/report final é.pdf', 1);
    const { token, expires } = (await res.json()) as { token: string; expires: string };
    await waitFor(() => Date.now() > Date.parse(expires) + 50, 'the link to expire', 10_000);
    const dl = await fetch(`${t.url}/download/${token}`);
    assert.equal(dl.status, 410);
    assert.equal(((await dl.json()) as { code: string }).code, 'LINK_EXPIRED');
  });

  test('100 concurrent downloads: exactly one 200 and 99 × 410', async () => {
    const token = await tokenOf(await generate('/report final é.pdf'));
    const results = await Promise.all(Array.from({ length: 100 }, () => fetch(`${t.url}/download/${token}`).then(async (r) => ({ status: r.status, body: await r.text() }))));
    assert.equal(results.filter((r) => r.status === 200).length, 1);
    assert.equal(results.filter((r) => r.status === 410).length, 99);
    assert.equal(results.find((r) => r.status === 200)!.body, 'the report');
  });

  test('bad requests: expiry out of range, missing path, a directory, no read permission', async () => {
    for (const expiry of [0, -1, 86_401, 1.5, 'soon']) assert.equal((await generate('/report final é.pdf', expiry)).status, 400, String(expiry));
    assert.equal((await t.request('POST', '/v1/links/generate', { headers: json, body: '{}' })).status, 400);
    assert.equal((await generate('/missing.txt')).status, 404);
    await t.request('POST', '/v1/files/adir/');
    assert.equal((await generate('/adir')).status, 409);
    await t.request('POST', '/v1/files/private/');
    await t.request('PUT', '/v1/files/private/secret.txt', { body: 's' });
    await t.request('PATCH', '/v1/files/private/secret.txt', { headers: json, body: JSON.stringify({ uid: ALICE.uid, mode: '0600' }) });
    assert.equal((await generate('/private/secret.txt', 60, BOB.api_keys[0])).status, 403);
    assert.equal((await generate('/private/secret.txt', 60, ALICE.api_keys[0])).status, 201);
    assert.equal((await t.request('POST', '/v1/links/generate', { key: null, headers: json, body: '{}' })).status, 401);
  });
});

describe('single-use link rate limits', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ config: { links: { generate_per_minute: 3, download_per_minute: 2 } } });
    await t.request('PUT', '/v1/files/f.txt', { body: 'f' });
  });
  after(() => t.close());

  test('generation and download over the limit are 429 with Retry-After', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.request('POST', '/v1/links/generate', { headers: json, body: JSON.stringify({ path: '/f.txt', expiry_seconds: 60 }) });
      assert.equal(res.status, 201);
      tokens.push(((await res.json()) as { token: string }).token);
    }
    const limited = await t.request('POST', '/v1/links/generate', { headers: json, body: JSON.stringify({ path: '/f.txt', expiry_seconds: 60 }) });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(((await limited.json()) as { code: string }).code, 'RATE_LIMITED');
    assert.equal((await fetch(`${t.url}/download/${tokens[0]}`)).status, 200);
    assert.equal((await fetch(`${t.url}/download/${tokens[1]}`)).status, 200);
    const dl = await fetch(`${t.url}/download/${tokens[2]}`);
    assert.equal(dl.status, 429);
    assert.ok(Number(dl.headers.get('retry-after')) >= 1);
  });
});
