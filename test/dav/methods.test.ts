import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ALICE, BOB, startTestServer, type TestServer } from '../helpers/server.js';
import { ADMIN_BASIC, LOCKINFO, basic, dav, propfindBody, rawRequest } from './dav-client.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

const put = (p: string, body: string, headers: Record<string, string> = {}) => dav(server, 'PUT', p, { body, headers });

test('OPTIONS answers without auth and advertises class 1 and 2', async () => {
  const r = await dav(server, 'OPTIONS', '/dav/', { auth: null });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('dav'), '1, 2');
  assert.equal(r.headers.get('ms-author-via'), 'DAV');
  for (const m of ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'PUT', 'DELETE']) assert.match(r.headers.get('allow')!, new RegExp(m));
});

test('every other method needs Basic auth: 401 with a Basic challenge; API key as password works; a bad password does not', async () => {
  const r = await dav(server, 'PROPFIND', '/dav/', { auth: null, headers: { depth: '0' } });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get('www-authenticate')?.startsWith('Basic realm="CallFS"'), true);
  assert.equal((await dav(server, 'PROPFIND', '/dav/', { auth: basic('alice', ALICE.password), headers: { depth: '0' } })).status, 207);
  assert.equal((await dav(server, 'PROPFIND', '/dav/', { auth: basic('anyone', ALICE.api_keys[0]!), headers: { depth: '0' } })).status, 207);
  assert.equal((await dav(server, 'PROPFIND', '/dav/', { auth: basic('alice', 'wrong-password'), headers: { depth: '0' } })).status, 401);
});

test('MKCOL: 201, 405 on an existing URL, 409 without a parent, 415 with a body', async () => {
  assert.equal((await dav(server, 'MKCOL', '/dav/mk/')).status, 201);
  assert.equal((await dav(server, 'MKCOL', '/dav/mk/')).status, 405);
  assert.equal((await dav(server, 'MKCOL', '/dav/missing/child/')).status, 409);
  assert.equal((await dav(server, 'MKCOL', '/dav/mk/withbody', { body: '<x/>' })).status, 415);
});

test('PUT and GET: 201 then 204, ETag matches, Range, 409 without a parent, 405 on a collection', async () => {
  const created = await put('/dav/mk/file.txt', 'hello world');
  assert.equal(created.status, 201);
  const replaced = await put('/dav/mk/file.txt', 'hello world!');
  assert.equal(replaced.status, 204);
  const get = await dav(server, 'GET', '/dav/mk/file.txt');
  assert.equal(get.status, 200);
  assert.equal(await get.text(), 'hello world!');
  assert.equal(get.headers.get('etag'), replaced.headers.get('etag'));
  assert.ok(get.headers.get('last-modified'));
  const range = await dav(server, 'GET', '/dav/mk/file.txt', { headers: { range: 'bytes=6-10' } });
  assert.equal(range.status, 206);
  assert.equal(await range.text(), 'world');
  const head = await dav(server, 'HEAD', '/dav/mk/file.txt');
  assert.equal(head.headers.get('content-length'), '12');
  assert.equal((await put('/dav/nothere/file.txt', 'x')).status, 409);
  assert.equal((await put('/dav/mk', 'x')).status, 405);
  assert.equal((await dav(server, 'GET', '/dav/mk/none')).status, 404);
  const idx = await dav(server, 'GET', '/dav/mk/');
  assert.equal(idx.status, 200);
  assert.match(await idx.text(), /file\.txt/);
});

test('PROPFIND: depth 0/1/infinity, named, propname, allprop; live properties', async () => {
  await dav(server, 'MKCOL', '/dav/pf/');
  await dav(server, 'MKCOL', '/dav/pf/sub/');
  await put('/dav/pf/a b.txt', 'abc');
  await put('/dav/pf/sub/c.txt', 'c');
  const d1 = await dav(server, 'PROPFIND', '/dav/pf/', { headers: { depth: '1' } });
  assert.equal(d1.status, 207);
  const text = await d1.text();
  assert.equal(text.match(/<D:response>/g)!.length, 3);
  assert.match(text, /<D:href>\/dav\/pf\/a%20b\.txt<\/D:href>/);
  assert.match(text, /<D:href>\/dav\/pf\/sub\/<\/D:href>/);
  assert.match(text, /<D:getcontentlength>3<\/D:getcontentlength>/);
  assert.match(text, /<D:resourcetype><D:collection\/><\/D:resourcetype>/);
  assert.match(text, /<D:supportedlock>/);
  assert.doesNotMatch(text, /quota-used-bytes/, 'allprop does not include RFC 4331 quota properties');
  const inf = await (await dav(server, 'PROPFIND', '/dav/pf/', { headers: { depth: 'infinity' } })).text();
  assert.equal(inf.match(/<D:response>/g)!.length, 4);
  const d0 = await (await dav(server, 'PROPFIND', '/dav/pf/', { headers: { depth: '0' }, body: propfindBody('<D:getetag/><D:quota-used-bytes/><D:quota-available-bytes/><Z:nope xmlns:Z="urn:z"/>') })).text();
  assert.equal(d0.match(/<D:response>/g)!.length, 1);
  assert.match(d0, /<D:getetag>"[^"]+"<\/D:getetag>/);
  assert.match(d0, /<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
  assert.match(d0, /<D:quota-available-bytes>\d+<\/D:quota-available-bytes>/);
  assert.match(d0, /<X:nope xmlns:X="urn:z"\/><\/D:prop><D:status>HTTP\/1.1 404 Not Found/);
  const names = await (await dav(server, 'PROPFIND', '/dav/pf/a%20b.txt', { headers: { depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>' })).text();
  assert.match(names, /<D:getcontentlength\/>/);
  assert.equal((await dav(server, 'PROPFIND', '/dav/pf/none', { headers: { depth: '0' } })).status, 404);
});

test('PROPFIND sums the used bytes only for a request that names a quota property', async () => {
  await dav(server, 'MKCOL', '/dav/pq/');
  await put('/dav/pq/a', 'abc');
  const usageQueries = async () => {
    const text = await (await server.request('GET', '/metrics')).text();
    return Number(/^callfs_metadata_db_queries_total\{operation="usage"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  };
  const before = await usageQueries();
  const listing = await dav(server, 'PROPFIND', '/dav/pq/', { headers: { depth: '1' }, body: propfindBody('<D:getetag/><D:resourcetype/>') });
  assert.equal(listing.status, 207);
  await listing.text();
  assert.equal(await usageQueries(), before, 'a listing that names no quota property does not sum the tree');
  const quota = await (await dav(server, 'PROPFIND', '/dav/pq/', { headers: { depth: '0' }, body: propfindBody('<D:quota-used-bytes/>') })).text();
  assert.match(quota, /<D:quota-used-bytes>\d+<\/D:quota-used-bytes>/);
  assert.equal(await usageQueries(), before + 1);
});

test('PROPFIND Depth: infinity over the configured limit is 403 propfind-finite-depth', async () => {
  const small = await startTestServer({ config: { server: { propfind_infinity_limit: 3 } } });
  try {
    for (const n of ['a', 'b', 'c']) await dav(small, 'PUT', `/dav/${n}`, { body: n });
    const r = await dav(small, 'PROPFIND', '/dav/', { headers: { depth: 'infinity' } });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /propfind-finite-depth/);
    assert.equal((await dav(small, 'PROPFIND', '/dav/', { headers: { depth: '1' } })).status, 207);
  } finally {
    await small.close();
  }
});

test('PROPPATCH: dead properties keep namespace, xml:lang and children; protected live properties are 403 with 424 for the rest, atomically', async () => {
  await put('/dav/pp.txt', 'x');
  const body = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns"><D:set><D:prop>
    <Z:author xml:lang="en">Jane <Z:b>Doe</Z:b></Z:author><nons xmlns="">plain</nons></D:prop></D:set></D:propertyupdate>`;
  const r = await dav(server, 'PROPPATCH', '/dav/pp.txt', { body });
  assert.equal(r.status, 207);
  assert.match(await r.text(), /200 OK/);
  const got = await (await dav(server, 'PROPFIND', '/dav/pp.txt', { headers: { depth: '0' }, body: propfindBody('<Z:author xmlns:Z="http://example.com/ns"/><nons xmlns=""/>') })).text();
  assert.match(got, /<ns0:author xmlns:ns0="http:\/\/example.com\/ns" xml:lang="en">Jane <ns0:b>Doe<\/ns0:b><\/ns0:author>/);
  assert.match(got, /<nons xmlns="">plain<\/nons>/);
  const bad = `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns"><D:set><D:prop><D:getetag>"x"</D:getetag><Z:other>1</Z:other></D:prop></D:set></D:propertyupdate>`;
  const rb = await (await dav(server, 'PROPPATCH', '/dav/pp.txt', { body: bad })).text();
  assert.match(rb, /<D:getetag\/><\/D:prop><D:status>HTTP\/1.1 403 Forbidden/);
  assert.match(rb, /<X:other xmlns:X="http:\/\/example.com\/ns"\/><\/D:prop><D:status>HTTP\/1.1 424 Failed Dependency/);
  const after = await (await dav(server, 'PROPFIND', '/dav/pp.txt', { headers: { depth: '0' }, body: propfindBody('<Z:other xmlns:Z="http://example.com/ns"/>') })).text();
  assert.match(after, /404 Not Found/, 'nothing of a failed PROPPATCH is applied');
});

test('DELETE removes collections recursively; 404 afterwards', async () => {
  await dav(server, 'MKCOL', '/dav/del/');
  await dav(server, 'MKCOL', '/dav/del/x/');
  await put('/dav/del/x/f', 'f');
  assert.equal((await dav(server, 'DELETE', '/dav/del/')).status, 204);
  assert.equal((await dav(server, 'PROPFIND', '/dav/del/', { headers: { depth: '0' } })).status, 404);
  assert.equal((await dav(server, 'DELETE', '/dav/del/')).status, 404);
  await dav(server, 'MKCOL', '/dav/frag/');
  const frag = await rawRequest(server.url, `DELETE /dav/frag/#ment HTTP/1.1\nHost: x\nAuthorization: ${ADMIN_BASIC}\nConnection: close\n\n`);
  assert.equal(frag.status, 400, 'a fragment in the Request-URI is refused, not applied to the collection');
  assert.equal((await dav(server, 'PROPFIND', '/dav/frag/', { headers: { depth: '0' } })).status, 207);
});

test('COPY and MOVE: 201/204/412/409, Depth 0, dead properties copied', async () => {
  await dav(server, 'MKCOL', '/dav/cm/');
  await put('/dav/cm/src.txt', 'source');
  await dav(server, 'PROPPATCH', '/dav/cm/src.txt', { body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Q:p xmlns:Q="urn:q">v</Q:p></D:prop></D:set></D:propertyupdate>' });
  const dest = (p: string) => ({ destination: `${server.url}${p}` });
  assert.equal((await dav(server, 'COPY', '/dav/cm/src.txt', { headers: dest('/dav/cm/copy.txt') })).status, 201);
  assert.equal((await dav(server, 'COPY', '/dav/cm/src.txt', { headers: { ...dest('/dav/cm/copy.txt'), overwrite: 'F' } })).status, 412);
  assert.equal((await dav(server, 'COPY', '/dav/cm/src.txt', { headers: dest('/dav/cm/copy.txt') })).status, 204);
  assert.equal((await dav(server, 'COPY', '/dav/cm/src.txt', { headers: dest('/dav/nope/copy.txt') })).status, 409);
  const props = await (await dav(server, 'PROPFIND', '/dav/cm/copy.txt', { headers: { depth: '0' }, body: propfindBody('<Q:p xmlns:Q="urn:q"/>') })).text();
  assert.match(props, />v<\/ns0:p>/);
  assert.equal((await dav(server, 'COPY', '/dav/cm/', { headers: { ...dest('/dav/cm-shallow/'), depth: '0' } })).status, 201);
  const shallow = await (await dav(server, 'PROPFIND', '/dav/cm-shallow/', { headers: { depth: '1' } })).text();
  assert.equal(shallow.match(/<D:response>/g)!.length, 1);
  // Destination as an absolute path works too.
  assert.equal((await dav(server, 'MOVE', '/dav/cm/copy.txt', { headers: { destination: '/dav/cm/moved.txt' } })).status, 201);
  assert.equal((await dav(server, 'GET', '/dav/cm/copy.txt')).status, 404);
  assert.equal(await (await dav(server, 'GET', '/dav/cm/moved.txt')).text(), 'source');
  assert.equal((await dav(server, 'MOVE', '/dav/cm/src.txt', { headers: { destination: '/dav/cm/moved.txt', overwrite: 'F' } })).status, 412);
  assert.equal((await dav(server, 'MOVE', '/dav/cm/src.txt', { headers: { destination: '/dav/cm/moved.txt' } })).status, 204);
  assert.equal((await dav(server, 'MOVE', '/dav/cm/', { headers: { destination: '/dav/cm/inner/' } })).status, 403);
  assert.equal((await dav(server, 'MOVE', '/dav/cm/moved.txt', { headers: { destination: '/elsewhere/x' } })).status, 502);
  assert.equal((await dav(server, 'MOVE', '/dav/cm/moved.txt', { headers: { destination: 'http://other.example:81/dav/x' } })).status, 502);
  assert.equal((await dav(server, 'MOVE', '/dav/cm/moved.txt', { headers: { destination: 'http://[bad' } })).status, 400);
});

test('LOCK/UNLOCK: exclusive, shared, refresh, depth infinity, lock-null resource, owner kept verbatim', async () => {
  await put('/dav/lk.txt', 'x');
  const owner = '<D:href>http://example.com/~me</D:href><E:extra xmlns:E="urn:e">note</E:extra>';
  const l = await dav(server, 'LOCK', '/dav/lk.txt', { body: LOCKINFO('exclusive', owner), headers: { timeout: 'Second-120' } });
  assert.equal(l.status, 200);
  const token = l.headers.get('lock-token')!.slice(1, -1);
  const body = await l.text();
  assert.match(body, /<D:timeout>Second-1[12]\d<\/D:timeout>/);
  assert.ok(body.includes('<D:owner xmlns:D="DAV:" xmlns:ns1="urn:e"><D:href>http://example.com/~me</D:href><ns1:extra>note</ns1:extra></D:owner>'), body);
  assert.equal((await put('/dav/lk.txt', 'y')).status, 423);
  assert.equal((await dav(server, 'LOCK', '/dav/lk.txt', { body: LOCKINFO('shared') })).status, 423);
  assert.equal((await put('/dav/lk.txt', 'y', { if: `(<${token}>)` })).status, 204);
  const refresh = await dav(server, 'LOCK', '/dav/lk.txt', { headers: { if: `(<${token}>)`, timeout: 'Second-600' } });
  assert.equal(refresh.status, 200);
  assert.match(await refresh.text(), /Second-(600|599)/);
  // A timeout beyond any limit (here more than 2^64 seconds) is cut to the server's longest, not refused.
  const long = await dav(server, 'LOCK', '/dav/lk.txt', { headers: { if: `(<${token}>)`, timeout: 'Second-99999999999999999999999' } });
  assert.equal(long.status, 200);
  assert.match(await long.text(), /Second-(604800|60479\d)/);
  const disc = await (await dav(server, 'PROPFIND', '/dav/lk.txt', { headers: { depth: '0' }, body: propfindBody('<D:lockdiscovery/>') })).text();
  assert.ok(disc.includes(token));
  assert.equal((await dav(server, 'UNLOCK', '/dav/lk.txt', { headers: { 'lock-token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' } })).status, 409);
  assert.equal((await dav(server, 'UNLOCK', '/dav/lk.txt', { headers: { 'lock-token': `<${token}>` } })).status, 204);
  assert.equal((await put('/dav/lk.txt', 'z')).status, 204);

  const s1 = await dav(server, 'LOCK', '/dav/lk.txt', { body: LOCKINFO('shared') });
  const s2 = await dav(server, 'LOCK', '/dav/lk.txt', { body: LOCKINFO('shared') });
  assert.equal(s1.status, 200);
  assert.equal(s2.status, 200);
  assert.equal((await put('/dav/lk.txt', 'z', { if: `(${s2.headers.get('lock-token')})` })).status, 204);
  for (const r of [s1, s2]) await dav(server, 'UNLOCK', '/dav/lk.txt', { headers: { 'lock-token': r.headers.get('lock-token')! } });

  await dav(server, 'MKCOL', '/dav/lkdir/');
  const dl = await dav(server, 'LOCK', '/dav/lkdir/', { body: LOCKINFO('exclusive'), headers: { depth: 'infinity' } });
  assert.equal(dl.status, 200);
  assert.equal((await put('/dav/lkdir/new.txt', 'n')).status, 423);
  assert.equal((await put('/dav/lkdir/new.txt', 'n', { if: `(${dl.headers.get('lock-token')})` })).status, 201);
  assert.equal((await dav(server, 'UNLOCK', '/dav/lkdir/new.txt', { headers: { 'lock-token': dl.headers.get('lock-token')! } })).status, 204);

  const unmapped = await dav(server, 'LOCK', '/dav/lock-null.txt', { body: LOCKINFO('exclusive') });
  assert.equal(unmapped.status, 201);
  const h = await dav(server, 'HEAD', '/dav/lock-null.txt');
  assert.equal(h.headers.get('content-length'), '0');
  assert.equal((await dav(server, 'LOCK', '/dav/nodir/x', { body: LOCKINFO('exclusive') })).status, 409);
});

test('a lock belongs to its principal: another user cannot use its token', async () => {
  await dav(server, 'MKCOL', '/dav/shared-area/');
  await server.request('PATCH', '/v1/files/shared-area', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: '0777' }) });
  const alice = basic('alice', ALICE.password);
  const bob = basic('bob', BOB.password);
  assert.equal((await dav(server, 'PUT', '/dav/shared-area/f', { auth: alice, body: 'a' })).status, 201);
  await server.request('PATCH', '/v1/files/shared-area/f', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: '0666' }) });
  const l = await dav(server, 'LOCK', '/dav/shared-area/f', { auth: alice, body: LOCKINFO('exclusive') });
  const token = l.headers.get('lock-token')!;
  assert.equal((await dav(server, 'PUT', '/dav/shared-area/f', { auth: bob, body: 'b', headers: { if: `(${token})` } })).status, 423);
  assert.equal((await dav(server, 'PUT', '/dav/shared-area/f', { auth: alice, body: 'a2', headers: { if: `(${token})` } })).status, 204);
  // Unix permissions hold over WebDAV exactly as over REST.
  await dav(server, 'MKCOL', '/dav/root-only/');
  assert.equal((await dav(server, 'PUT', '/dav/root-only/x', { auth: bob, body: 'b' })).status, 403);
});

test('PROPFIND Depth 1 over many pages: each member is listed once, with its own dead properties only', async () => {
  assert.equal((await dav(server, 'MKCOL', '/dav/paged/')).status, 201);
  const names = Array.from({ length: 130 }, (_, i) => `f ${String(i).padStart(3, '0')}&.txt`);
  for (const name of names) assert.equal((await put(`/dav/paged/${encodeURIComponent(name)}`, 'x')).status, 201);
  assert.equal((await dav(server, 'MKCOL', '/dav/paged/sub/')).status, 201);
  // Holders on both sides of page boundaries.
  const holders = [0, 49, 50, 99, 100, 129];
  for (const i of holders) {
    const body = `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:tag>t${i}</Z:tag></D:prop></D:set></D:propertyupdate>`;
    assert.equal((await dav(server, 'PROPPATCH', `/dav/paged/${encodeURIComponent(names[i]!)}`, { body })).status, 207);
  }
  const responsesOf = async (body?: string) => {
    const r = await dav(server, 'PROPFIND', '/dav/paged/', { headers: { depth: '1' }, body });
    assert.equal(r.status, 207);
    const text = await r.text();
    return new Map(text.split('<D:response>').slice(1).map((part) => [/<D:href>([^<]*)<\/D:href>/.exec(part)![1]!, part]));
  };
  for (const body of [undefined, '<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:z"><D:prop><D:getetag/><Z:tag/></D:prop></D:propfind>']) {
    const responses = await responsesOf(body);
    assert.equal(responses.size, 132);
    assert.ok(responses.has('/dav/paged/sub/'));
    names.forEach((name, i) => {
      const part = responses.get(`/dav/paged/${encodeURIComponent(name)}`);
      assert.ok(part, `${name} is listed`);
      const tag = />t(\d+)</.exec(part)?.[1];
      assert.equal(tag, holders.includes(i) ? String(i) : undefined, `dead property of ${name}`);
    });
  }
});
