import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { dav, propfindBody } from './dav-client.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

const ownerLock = (owner: string) =>
  `<?xml version="1.0" encoding="utf-8" ?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

test('Windows Mini-Redirector: OPTIONS and PROPFIND before auth, LOCK → 0-byte PUT → PROPPATCH Win32* → PUT → UNLOCK', async () => {
  const ua = { 'user-agent': 'Microsoft-WebDAV-MiniRedir/10.0.19045' };
  const options = await dav(server, 'OPTIONS', '/dav/', { auth: null, headers: ua });
  assert.equal(options.status, 200);
  assert.equal(options.headers.get('ms-author-via'), 'DAV');
  const anonymous = await dav(server, 'PROPFIND', '/dav/', { auth: null, headers: { ...ua, depth: '0' } });
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.headers.get('www-authenticate')!, /^Basic realm="CallFS"/);
  const pf = await dav(server, 'PROPFIND', '/dav/', { headers: { ...ua, depth: '1' }, body: propfindBody('<D:name/><D:parentname/><D:href/><D:ishidden/><D:isreadonly/><D:getcontenttype/><D:contentclass/><D:getcontentlanguage/><D:creationdate/><D:lastaccessed/><D:getlastmodified/><D:getcontentlength/><D:iscollection/><D:isstructureddocument/><D:defaultdocument/><D:displayname/><D:isroot/><D:resourcetype/>') });
  assert.equal(pf.status, 207);

  const lock = await dav(server, 'LOCK', '/dav/report.docx', { headers: { ...ua, timeout: 'Second-3600', depth: '0' }, body: ownerLock('<D:href>WORKGROUP\\jane</D:href>') });
  assert.equal(lock.status, 201);
  const token = lock.headers.get('lock-token')!;
  const ifHeader = { ...ua, if: `(${token})` };
  assert.equal((await dav(server, 'PUT', '/dav/report.docx', { headers: ifHeader, body: '' })).status, 204);
  const modified = 'Tue, 04 Mar 2025 10:11:12 GMT';
  const win32 = `<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
<Z:Win32CreationTime>Tue, 04 Mar 2025 10:00:00 GMT</Z:Win32CreationTime><Z:Win32LastAccessTime>Tue, 04 Mar 2025 10:11:12 GMT</Z:Win32LastAccessTime>
<Z:Win32LastModifiedTime>${modified}</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>`;
  const pp = await dav(server, 'PROPPATCH', '/dav/report.docx', { headers: ifHeader, body: win32 });
  assert.equal(pp.status, 207);
  const ppText = await pp.text();
  assert.doesNotMatch(ppText, /40\d|424/);
  assert.match(ppText, /200 OK/);
  const content = Buffer.alloc(50_000, 7);
  assert.equal((await dav(server, 'PUT', '/dav/report.docx', { headers: ifHeader, body: content })).status, 204);
  // Explorer re-applies the times after the content PUT.
  assert.equal((await dav(server, 'PROPPATCH', '/dav/report.docx', { headers: ifHeader, body: win32 })).status, 207);
  assert.equal((await dav(server, 'UNLOCK', '/dav/report.docx', { headers: { ...ua, 'lock-token': token } })).status, 204);
  const head = await server.request('HEAD', '/v1/files/report.docx');
  assert.equal(head.headers.get('x-callfs-size'), '50000');
  assert.equal(head.headers.get('x-callfs-mtime'), new Date(modified).toISOString(), 'Win32LastModifiedTime is applied to mtime');
  const times = await (await dav(server, 'PROPFIND', '/dav/report.docx', { headers: { depth: '0' }, body: propfindBody('<D:getlastmodified/><Z:Win32FileAttributes xmlns:Z="urn:schemas-microsoft-com:"/>') })).text();
  assert.ok(times.includes(`<D:getlastmodified>${modified}</D:getlastmodified>`), times);
  assert.match(times, />00000020</);
});

test('macOS Finder: LOCK before PUT, chunked PUT with X-Expected-Entity-Length, ._* and .DS_Store files', async () => {
  const ua = { 'user-agent': 'WebDAVFS/3.0.0 (03008000) Darwin/22.6.0 (arm64)' };
  await dav(server, 'MKCOL', '/dav/Finder/', { headers: ua });
  const chunked = (data: Buffer) =>
    new ReadableStream({
      start(controller) {
        for (let i = 0; i < data.length; i += 7000) controller.enqueue(data.subarray(i, i + 7000));
        controller.close();
      },
    });
  for (const name of ['photo.jpg', '._photo.jpg', '.DS_Store']) {
    const url = `/dav/Finder/${encodeURIComponent(name)}`;
    const lock = await dav(server, 'LOCK', url, { headers: { ...ua, timeout: 'Second-600', depth: '0' }, body: ownerLock('<D:href>http://www.apple.com/webdav_fs/</D:href>') });
    assert.equal(lock.status, 201, name);
    const token = lock.headers.get('lock-token')!;
    const data = Buffer.alloc(name === 'photo.jpg' ? 100_000 : 4096, name.length);
    const put = await dav(server, 'PUT', url, { headers: { ...ua, if: `(${token})`, 'x-expected-entity-length': String(data.length), 'content-type': 'application/octet-stream' }, body: chunked(data) });
    assert.equal(put.status, 204, name);
    const pf = await dav(server, 'PROPFIND', url, { headers: { ...ua, depth: '0' }, body: propfindBody('<D:getlastmodified/><D:getcontentlength/><D:resourcetype/>') });
    assert.match(await pf.text(), new RegExp(`<D:getcontentlength>${data.length}</D:getcontentlength>`));
    assert.equal((await dav(server, 'UNLOCK', url, { headers: { ...ua, 'lock-token': token } })).status, 204);
    assert.deepEqual(Buffer.from(await (await dav(server, 'GET', url)).arrayBuffer()), data);
  }
  // A body shorter than announced is refused and leaves nothing partial behind.
  const bad = await dav(server, 'PUT', '/dav/Finder/short.bin', { headers: { ...ua, 'x-expected-entity-length': '5000' }, body: chunked(Buffer.alloc(100)) });
  assert.ok(bad.status >= 400 && bad.status < 500, String(bad.status));
  assert.equal((await dav(server, 'GET', '/dav/Finder/short.bin')).status, 404);
  const listing = await (await dav(server, 'PROPFIND', '/dav/Finder/', { headers: { depth: '1' } })).text();
  for (const href of ['/dav/Finder/photo.jpg', '/dav/Finder/._photo.jpg', '/dav/Finder/.DS_Store']) assert.ok(listing.includes(`<D:href>${href}</D:href>`), href);
});

test('davfs2: PROPFIND Depth 1 with its properties, LOCK with a text owner, tagged If on PUT, If-None-Match GET, MOVE, UNLOCK', async () => {
  const ua = { 'user-agent': 'davfs2/1.7.0 neon/0.32.5' };
  await dav(server, 'MKCOL', '/dav/davfs/', { headers: ua });
  const list = await dav(server, 'PROPFIND', '/dav/davfs/', { headers: { ...ua, depth: '1' }, body: propfindBody('<D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/><E:executable xmlns:E="http://apache.org/dav/props/"/><D:displayname/>') });
  assert.equal(list.status, 207);
  const url = `${server.url}/dav/davfs/notes.txt`;
  const lock = await dav(server, 'LOCK', '/dav/davfs/notes.txt', { headers: { ...ua, timeout: 'Second-1800', depth: '0' }, body: ownerLock('davfs2-user') });
  assert.equal(lock.status, 201);
  const token = lock.headers.get('lock-token')!;
  const put = await dav(server, 'PUT', '/dav/davfs/notes.txt', { headers: { ...ua, if: `<${url}> (${token})` }, body: 'davfs content' });
  assert.equal(put.status, 204);
  const etag = put.headers.get('etag')!;
  assert.equal((await dav(server, 'GET', '/dav/davfs/notes.txt', { headers: { ...ua, 'if-none-match': etag } })).status, 304);
  const put2 = await dav(server, 'PUT', '/dav/davfs/notes.txt', { headers: { ...ua, if: `<${url}> (${token})`, 'if-match': etag }, body: 'davfs content 2' });
  assert.equal(put2.status, 204);
  assert.equal((await dav(server, 'UNLOCK', '/dav/davfs/notes.txt', { headers: { ...ua, 'lock-token': token } })).status, 204);
  assert.equal((await dav(server, 'MOVE', '/dav/davfs/notes.txt', { headers: { ...ua, destination: `${server.url}/dav/davfs/renamed.txt`, overwrite: 'T' } })).status, 201);
  assert.equal(await (await dav(server, 'GET', '/dav/davfs/renamed.txt')).text(), 'davfs content 2');
});

test('gvfs (libsoup): PROPFIND Depth 0 then 1, PUT with If-None-Match: * then If-Match, MOVE Overwrite F, COPY, DELETE', async () => {
  const ua = { 'user-agent': 'gvfs/1.50.3' };
  const props = propfindBody('<D:creationdate/><D:displayname/><D:getcontentlength/><D:getcontenttype/><D:getetag/><D:getlastmodified/><D:resourcetype/>');
  assert.equal((await dav(server, 'PROPFIND', '/dav/', { headers: { ...ua, depth: '0' }, body: props })).status, 207);
  await dav(server, 'MKCOL', '/dav/gvfs/', { headers: ua });
  const created = await dav(server, 'PUT', '/dav/gvfs/a.txt', { headers: { ...ua, 'if-none-match': '*' }, body: 'A' });
  assert.equal(created.status, 201);
  assert.equal((await dav(server, 'PUT', '/dav/gvfs/a.txt', { headers: { ...ua, 'if-none-match': '*' }, body: 'A' })).status, 412);
  assert.equal((await dav(server, 'PUT', '/dav/gvfs/a.txt', { headers: { ...ua, 'if-match': created.headers.get('etag')! }, body: 'AA' })).status, 204);
  assert.equal((await dav(server, 'PUT', '/dav/gvfs/a.txt', { headers: { ...ua, 'if-match': created.headers.get('etag')! }, body: 'AAA' })).status, 412);
  const list = await (await dav(server, 'PROPFIND', '/dav/gvfs/', { headers: { ...ua, depth: '1' }, body: props })).text();
  assert.match(list, /<D:displayname>a.txt<\/D:displayname>/);
  assert.equal((await dav(server, 'COPY', '/dav/gvfs/a.txt', { headers: { ...ua, destination: `${server.url}/dav/gvfs/b.txt`, overwrite: 'F' } })).status, 201);
  assert.equal((await dav(server, 'MOVE', '/dav/gvfs/a.txt', { headers: { ...ua, destination: `${server.url}/dav/gvfs/b.txt`, overwrite: 'F' } })).status, 412);
  assert.equal((await dav(server, 'MOVE', '/dav/gvfs/a.txt', { headers: { ...ua, destination: `${server.url}/dav/gvfs/c.txt`, overwrite: 'F' } })).status, 201);
  assert.equal((await dav(server, 'DELETE', '/dav/gvfs/c.txt', { headers: ua })).status, 204);
  assert.equal((await dav(server, 'DELETE', '/dav/gvfs/', { headers: ua })).status, 204);
});
