import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALICE, BOB, startTestServer, type TestServer } from '../helpers/server.js';

const json = { 'content-type': 'application/json' };
const alice = ALICE.api_keys[0]!;
const bob = BOB.api_keys[0]!;

describe('REST authentication and Unix permissions', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    // Root prepares a home for each user, as an administrator would.
    for (const [name, uid, gid] of [['alice', 1001, 1001], ['bob', 1002, 1002]] as const) {
      await t.request('POST', `/v1/files/home/${name}/?parents=true`);
      await t.request('PATCH', `/v1/files/home/${name}`, { headers: json, body: JSON.stringify({ uid, gid, mode: '0755' }) });
    }
    await t.request('POST', '/v1/files/team/');
    await t.request('PATCH', '/v1/files/team', { headers: json, body: JSON.stringify({ gid: 2000, mode: '2770' }) });
  });
  after(() => t.close());

  test('no key, a wrong key, or a malformed header is 401 with WWW-Authenticate', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer wrong-key-0123456789' }, { authorization: 'Token abc' }, { authorization: 'Bearer' }]) {
      const res = await t.request('GET', '/v1/files/', { key: null, headers });
      assert.equal(res.status, 401);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
      assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
    }
  });

  test('HTTP Basic works with a user password and with an API key as password', async () => {
    const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
    assert.equal((await t.request('GET', '/v1/files/home/', { key: null, headers: basic('alice', ALICE.password) })).status, 200);
    assert.equal((await t.request('GET', '/v1/files/home/', { key: null, headers: basic('anyone', alice) })).status, 200);
    assert.equal((await t.request('GET', '/v1/files/home/', { key: null, headers: basic('alice', 'wrong-password') })).status, 401);
  });

  test('a user writes in their home; files belong to them', async () => {
    const res = await t.request('PUT', '/v1/files/home/alice/notes.txt', { key: alice, body: 'private' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-callfs-uid'), '1001');
    assert.equal(res.headers.get('x-callfs-gid'), '1001');
  });

  test("another user may read 0644 but not write it, nor create in someone's home (403)", async () => {
    await t.request('PUT', '/v1/files/home/alice/public.txt', { key: alice, body: 'hello' });
    assert.equal((await t.request('GET', '/v1/files/home/alice/public.txt', { key: bob })).status, 200);
    const w = await t.request('PUT', '/v1/files/home/alice/public.txt', { key: bob, body: 'defaced' });
    assert.equal(w.status, 403);
    assert.equal(((await w.json()) as { code: string }).code, 'PERMISSION_DENIED');
    assert.equal((await t.request('PUT', '/v1/files/home/alice/bob.txt', { key: bob, body: 'x' })).status, 403);
    assert.equal((await t.request('DELETE', '/v1/files/home/alice/public.txt', { key: bob })).status, 403);
    assert.equal((await t.request('PATCH', '/v1/files/home/alice/public.txt', { key: bob, headers: json, body: JSON.stringify({ destination: '/home/bob/stolen.txt' }) })).status, 403);
    assert.equal(await (await t.request('GET', '/v1/files/home/alice/public.txt', { key: alice })).text(), 'hello');
  });

  test('mode 0600 hides content from others; 0700 on a directory hides its listing and its files', async () => {
    await t.request('PUT', '/v1/files/home/alice/secret.txt', { key: alice, body: 's' });
    await t.request('PATCH', '/v1/files/home/alice/secret.txt', { key: alice, headers: json, body: JSON.stringify({ mode: '0600' }) });
    assert.equal((await t.request('GET', '/v1/files/home/alice/secret.txt', { key: bob })).status, 403);
    await t.request('PATCH', '/v1/files/home/alice', { key: alice, headers: json, body: JSON.stringify({ mode: '0700' }) });
    assert.equal((await t.request('GET', '/v1/files/home/alice/', { key: bob })).status, 403);
    // A HEAD of the directory (a mount's stat) is refused as its listing is, and allowed to its owner.
    assert.equal((await t.request('HEAD', '/v1/files/home/alice', { key: bob })).status, 403);
    assert.equal((await t.request('HEAD', '/v1/files/home/alice', { key: alice })).status, 200);
    assert.equal((await t.request('GET', '/v1/files/home/alice/public.txt', { key: bob })).status, 403);
    assert.equal((await t.request('GET', '/v1/files/home/alice/public.txt', { key: alice })).status, 200);
    // Root bypasses permissions.
    assert.equal((await t.request('GET', '/v1/files/home/alice/secret.txt')).status, 200);
    await t.request('PATCH', '/v1/files/home/alice', { key: alice, headers: json, body: JSON.stringify({ mode: '0755' }) });
  });

  test('group permissions: members of the group share a setgid directory', async () => {
    const res = await t.request('PUT', '/v1/files/team/plan.txt', { key: alice, body: 'plan' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('x-callfs-gid'), '2000');
    await t.request('PATCH', '/v1/files/team/plan.txt', { key: alice, headers: json, body: JSON.stringify({ mode: '0660' }) });
    assert.equal((await t.request('PUT', '/v1/files/team/plan.txt', { key: bob, body: 'plan v2' })).status, 200);
  });

  test('only root changes owners; only the owner changes mode; chgrp to own groups', async () => {
    await t.request('PUT', '/v1/files/home/alice/own.txt', { key: alice, body: 'x' });
    const patch = (key: string, body: unknown) => t.request('PATCH', '/v1/files/home/alice/own.txt', { key, headers: json, body: JSON.stringify(body) });
    assert.equal((await patch(alice, { uid: 1002 })).status, 403);
    assert.equal((await patch(bob, { mode: '0777' })).status, 403);
    assert.equal((await patch(alice, { gid: 9999 })).status, 403);
    assert.equal((await patch(alice, { gid: 2000 })).status, 200);
    assert.equal((await patch(alice, { mode: '0640' })).status, 200);
    assert.equal((await patch(bob, { mtime: '2020-01-01T00:00:00Z' })).status, 403);
    const root = await t.request('PATCH', '/v1/files/home/alice/own.txt', { headers: json, body: JSON.stringify({ uid: 1002 }) });
    assert.equal(((await root.json()) as { uid: number }).uid, 1002);
  });

  test('PUT with X-CallFS-Uid/-Gid: chown\'s rules on create and replace; a refused owner stores nothing', async () => {
    const put = (key: string | undefined, p: string, headers: Record<string, string>, body = 'x') => t.request('PUT', `/v1/files${p}`, { key, headers, body });
    // A user may give a new file to a group of theirs, and may name themselves.
    const own = await put(alice, '/home/alice/put-owned.txt', { 'x-callfs-uid': '1001', 'x-callfs-gid': '2000' });
    assert.equal(own.status, 201);
    assert.deepEqual([own.headers.get('x-callfs-uid'), own.headers.get('x-callfs-gid')], ['1001', '2000']);
    // Not to another user, nor to a group they are not in: 403, and no file appears, whatever the body size.
    for (const [headers, body] of [[{ 'x-callfs-uid': '1002' }, 'x'], [{ 'x-callfs-gid': '9999' }, 'y'.repeat(200_000)]] as const) {
      const refused = await put(alice, '/home/alice/put-refused.txt', headers, body);
      assert.equal(refused.status, 403);
      assert.equal(((await refused.json()) as { code: string }).code, 'PERMISSION_DENIED');
      assert.equal((await t.request('HEAD', '/v1/files/home/alice/put-refused.txt')).status, 404);
    }
    // Replacing: the same rules against the file as it is; the refused write leaves the old content.
    assert.equal((await put(alice, '/home/alice/put-owned.txt', { 'x-callfs-uid': '1002' }, 'new')).status, 403);
    assert.equal(await (await t.request('GET', '/v1/files/home/alice/put-owned.txt', { key: alice })).text(), 'x');
    // Root gives files to anyone, on create and on replace.
    const root = await put(undefined, '/home/alice/put-root.txt', { 'x-callfs-uid': '1002', 'x-callfs-gid': '1002' });
    assert.deepEqual([root.status, root.headers.get('x-callfs-uid'), root.headers.get('x-callfs-gid')], [201, '1002', '1002']);
    const replaced = await put(undefined, '/home/alice/put-root.txt', { 'x-callfs-uid': '1001' }, 'z');
    assert.deepEqual([replaced.status, replaced.headers.get('x-callfs-uid'), replaced.headers.get('x-callfs-gid')], [200, '1001', '1002']);
    // Not a number, or out of range: 400.
    for (const bad of ['abc', '-1', '1.5', '4294967296', '99999999999']) {
      const res = await put(undefined, '/home/alice/put-bad.txt', { 'x-callfs-uid': bad });
      assert.equal(res.status, 400, bad);
      assert.equal(((await res.json()) as { code: string }).code, 'INVALID_ARGUMENT');
    }
    assert.equal((await t.request('HEAD', '/v1/files/home/alice/put-bad.txt')).status, 404);
  });

  test('users cannot write at the root, which belongs to root with 0755', async () => {
    assert.equal((await t.request('PUT', '/v1/files/top.txt', { key: alice, body: 'x' })).status, 403);
    assert.equal((await t.request('POST', '/v1/files/topdir/', { key: bob })).status, 403);
  });
});
