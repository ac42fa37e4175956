import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startTestServer } from '../helpers/server.js';
import { LOCKINFO, dav, propfindBody } from './dav-client.js';

test('a file written through WebDAV is visible through REST with the same ETag, and the other way round', async () => {
  const server = await startTestServer();
  try {
    const put = await dav(server, 'PUT', '/dav/x%20y.txt', { body: 'from dav' });
    const rest = await server.request('GET', '/v1/files/x%20y.txt');
    assert.equal(await rest.text(), 'from dav');
    assert.equal(rest.headers.get('etag'), put.headers.get('etag'));
    const restPut = await server.request('PUT', '/v1/files/from-rest.txt', { body: 'from rest' });
    assert.equal(restPut.status, 201);
    const davGet = await dav(server, 'GET', '/dav/from-rest.txt');
    assert.equal(await davGet.text(), 'from rest');
    assert.equal(davGet.headers.get('etag'), restPut.headers.get('etag'));
    const pf = await (await dav(server, 'PROPFIND', '/dav/from-rest.txt', { headers: { depth: '0' }, body: propfindBody('<D:getetag/>') })).text();
    assert.ok(pf.includes(`<D:getetag>${restPut.headers.get('etag')}</D:getetag>`), pf);
  } finally {
    await server.close();
  }
});

test('REST honours WebDAV locks: PUT, DELETE and PATCH without the token are 423, with X-CallFS-Lock-Token they pass', async () => {
  const server = await startTestServer();
  try {
    await dav(server, 'PUT', '/dav/locked.txt', { body: 'v1' });
    const l = await dav(server, 'LOCK', '/dav/locked.txt', { body: LOCKINFO('exclusive') });
    const token = l.headers.get('lock-token')!;
    assert.equal((await server.request('PUT', '/v1/files/locked.txt', { body: 'v2' })).status, 423);
    assert.equal((await server.request('DELETE', '/v1/files/locked.txt')).status, 423);
    const patch = { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: '/elsewhere.txt' }) };
    assert.equal((await server.request('PATCH', '/v1/files/locked.txt', patch)).status, 423);
    assert.equal((await server.request('PUT', '/v1/files/locked.txt', { body: 'v2', headers: { 'x-callfs-lock-token': token } })).status, 200);
    assert.equal(await (await dav(server, 'GET', '/dav/locked.txt')).text(), 'v2');
  } finally {
    await server.close();
  }
});

test('locks and dead properties survive a server restart', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'callfs-dav-restart-'));
  try {
    let server = await startTestServer({ dataDir });
    await dav(server, 'PUT', '/dav/keep.txt', { body: 'k' });
    await dav(server, 'PROPPATCH', '/dav/keep.txt', { body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><K:color xmlns:K="urn:k" xml:lang="fr">bleu</K:color></D:prop></D:set></D:propertyupdate>' });
    const token = (await dav(server, 'LOCK', '/dav/keep.txt', { body: LOCKINFO('exclusive') })).headers.get('lock-token')!;
    await server.close();
    server = await startTestServer({ dataDir });
    try {
      assert.equal((await dav(server, 'PUT', '/dav/keep.txt', { body: 'x' })).status, 423);
      const props = await (await dav(server, 'PROPFIND', '/dav/keep.txt', { headers: { depth: '0' }, body: propfindBody('<K:color xmlns:K="urn:k"/><D:lockdiscovery/>') })).text();
      assert.match(props, /<ns0:color xmlns:ns0="urn:k" xml:lang="fr">bleu<\/ns0:color>/);
      assert.ok(props.includes(token.slice(1, -1)));
      assert.equal((await dav(server, 'UNLOCK', '/dav/keep.txt', { headers: { 'lock-token': token } })).status, 204);
    } finally {
      await server.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('server.dav_prefix moves the WebDAV tree; hrefs and Destination follow it', async () => {
  const server = await startTestServer({ config: { server: { dav_prefix: '/files/webdav/' } } });
  try {
    assert.equal((await dav(server, 'PUT', '/files/webdav/p.txt', { body: 'p' })).status, 201);
    const pf = await (await dav(server, 'PROPFIND', '/files/webdav', { headers: { depth: '1' } })).text();
    assert.ok(pf.includes('<D:href>/files/webdav/p.txt</D:href>'), pf);
    assert.equal((await dav(server, 'MOVE', '/files/webdav/p.txt', { headers: { destination: '/files/webdav/q.txt' } })).status, 201);
    assert.equal((await dav(server, 'MOVE', '/files/webdav/q.txt', { headers: { destination: '/dav/r.txt' } })).status, 502);
    assert.equal((await dav(server, 'PROPFIND', '/dav/', { headers: { depth: '0' } })).status, 404);
    assert.equal(await (await server.request('GET', '/v1/files/q.txt')).text(), 'p');
  } finally {
    await server.close();
  }
});
