import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ADMIN_BASIC, LOCKINFO, dav, rawRequest } from './dav-client.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({ config: { server: { max_xml_body: 4096 } } });
  await dav(server, 'MKCOL', '/dav/m/');
  await dav(server, 'PUT', '/dav/m/f.txt', { body: 'f' });
});
after(async () => server.close());

const BILLION_LAUGHS = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&lol2;</D:displayname></D:prop></D:propfind>`;
const EXTERNAL = `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:x>&xxe;</D:x></D:prop></D:propfind>`;

const cases: Array<[string, string, string, Record<string, string>, string | undefined, number]> = [
  ['PROPFIND not well-formed', 'PROPFIND', '/dav/m/', { depth: '0' }, '<D:propfind xmlns:D="DAV:"><D:prop>', 400],
  ['PROPFIND undeclared prefix', 'PROPFIND', '/dav/m/', { depth: '0' }, '<D:propfind><D:allprop/></D:propfind>', 400],
  ['PROPFIND empty namespace prefix', 'PROPFIND', '/dav/m/', { depth: '0' }, '<D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>', 400],
  ['PROPFIND DOCTYPE with entities', 'PROPFIND', '/dav/m/', { depth: '0' }, BILLION_LAUGHS, 400],
  ['PROPFIND external entity', 'PROPFIND', '/dav/m/', { depth: '0' }, EXTERNAL, 400],
  ['PROPFIND unknown entity', 'PROPFIND', '/dav/m/', { depth: '0' }, '<D:propfind xmlns:D="DAV:"><D:prop><D:x>&nope;</D:x></D:prop></D:propfind>', 400],
  ['PROPFIND wrong root element', 'PROPFIND', '/dav/m/', { depth: '0' }, '<D:lockinfo xmlns:D="DAV:"/>', 400],
  ['PROPFIND body over max_xml_body', 'PROPFIND', '/dav/m/', { depth: '0' }, `<D:propfind xmlns:D="DAV:"><!--${'x'.repeat(8000)}--><D:allprop/></D:propfind>`, 413],
  ['PROPFIND bad Depth', 'PROPFIND', '/dav/m/', { depth: '2' }, undefined, 400],
  ['PROPFIND binary garbage', 'PROPFIND', '/dav/m/', { depth: '0' }, '\u0000\u0001\u0002\uFFFF', 400],
  ['PROPPATCH wrong root', 'PROPPATCH', '/dav/m/f.txt', {}, '<D:propfind xmlns:D="DAV:"/>', 400],
  ['PROPPATCH without body', 'PROPPATCH', '/dav/m/f.txt', {}, undefined, 400],
  ['PROPPATCH set without prop', 'PROPPATCH', '/dav/m/f.txt', {}, '<D:propertyupdate xmlns:D="DAV:"><D:set/></D:propertyupdate>', 400],
  ['PUT bad If header', 'PUT', '/dav/m/f.txt', { if: '(<urn:x' }, 'x', 400],
  ['PUT If header with junk', 'PUT', '/dav/m/f.txt', { if: 'hello' }, 'x', 400],
  ['PUT with Content-Range', 'PUT', '/dav/m/f.txt', { 'content-range': 'bytes 0-0/1' }, 'x', 400],
  ['COPY without Destination', 'COPY', '/dav/m/f.txt', {}, undefined, 400],
  ['COPY bad Destination', 'COPY', '/dav/m/f.txt', { destination: 'http://[::1' }, undefined, 400],
  ['COPY Destination with bad escape', 'COPY', '/dav/m/f.txt', { destination: '/dav/m/%zz' }, undefined, 400],
  ['COPY Destination escaping the root', 'COPY', '/dav/m/f.txt', { destination: '/dav/../../etc/x' }, undefined, 502],
  ['COPY Destination ftp', 'COPY', '/dav/m/f.txt', { destination: 'ftp://x/dav/a' }, undefined, 400],
  ['COPY bad Overwrite', 'COPY', '/dav/m/f.txt', { destination: '/dav/m/g', overwrite: 'maybe' }, undefined, 400],
  ['COPY Depth 1', 'COPY', '/dav/m/', { destination: '/dav/m2/', depth: '1' }, undefined, 400],
  ['MOVE collection Depth 0', 'MOVE', '/dav/m/', { destination: '/dav/m2/', depth: '0' }, undefined, 400],
  ['LOCK bad Timeout', 'LOCK', '/dav/m/f.txt', { timeout: 'Forever-ish' }, LOCKINFO('exclusive'), 400],
  ['LOCK bad Depth', 'LOCK', '/dav/m/f.txt', { depth: '1' }, LOCKINFO('exclusive'), 400],
  ['LOCK bad lockinfo', 'LOCK', '/dav/m/f.txt', {}, '<D:lockinfo xmlns:D="DAV:"><D:lockscope/></D:lockinfo>', 400],
  ['LOCK refresh without token', 'LOCK', '/dav/m/f.txt', {}, undefined, 400],
  ['LOCK refresh with unknown token', 'LOCK', '/dav/m/f.txt', { if: '(<urn:uuid:nope>)' }, undefined, 412],
  ['UNLOCK without Lock-Token', 'UNLOCK', '/dav/m/f.txt', {}, undefined, 400],
  ['UNLOCK malformed Lock-Token', 'UNLOCK', '/dav/m/f.txt', { 'lock-token': 'urn:uuid:x' }, undefined, 400],
  ['DELETE Depth 0', 'DELETE', '/dav/m/', { depth: '0' }, undefined, 400],
  ['GET bad percent escape', 'GET', '/dav/m/%ff%fe', {}, undefined, 400],
  ['GET control character', 'GET', '/dav/m/a%01b', {}, undefined, 400],
];

for (const [name, method, path, headers, body, status] of cases) {
  test(`malformed: ${name} → ${status}`, async () => {
    const r = await dav(server, method, path, { headers, body });
    assert.equal(r.status, status, await r.text());
  });
}

test('malformed: a PROPPATCH with three set elements and removes of unknown properties works (it crashes webdav-server)', async () => {
  const set = (v: string) => `<D:set><D:prop><Z:p xmlns:Z="urn:z">${v}</Z:p></D:prop></D:set>`;
  const r = await dav(server, 'PROPPATCH', '/dav/m/f.txt', { body: `<D:propertyupdate xmlns:D="DAV:">${set('1')}${set('2')}${set('3')}<D:remove><D:prop><Y:q xmlns:Y="urn:y"/></D:prop></D:remove></D:propertyupdate>` });
  assert.equal(r.status, 207);
});

test('malformed: raw requests (path climbing above the root, huge Content-Length, chunked XML over the cap) are 4xx', async () => {
  const auth = `Authorization: ${ADMIN_BASIC}`;
  assert.equal((await rawRequest(server.url, `GET /dav/../../etc/passwd HTTP/1.1\nHost: x\n${auth}\nConnection: close\n\n`)).status, 400);
  const huge = await rawRequest(server.url, `PROPFIND /dav/m/ HTTP/1.1\nHost: x\n${auth}\nContent-Length: 99999999999\nConnection: close\n\n`, '<x/>');
  assert.equal(huge.status, 413);
  const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
  const chunked = await rawRequest(server.url, `PROPFIND /dav/m/ HTTP/1.1\nHost: x\n${auth}\nTransfer-Encoding: chunked\nConnection: close\n\n`, chunk('<a>' + 'x'.repeat(5000)) + '0\r\n\r\n');
  assert.equal(chunked.status, 413);
  const short = await rawRequest(server.url, `PUT /dav/m/short.txt HTTP/1.1\nHost: x\n${auth}\nContent-Length: 100\nConnection: close\n\n`, 'only a few bytes');
  assert.ok(short.status >= 400 && short.status < 500 || short.text === '', `short body: ${short.status}`);
  assert.equal((await dav(server, 'GET', '/dav/m/short.txt')).status, 404, 'no partial file is left behind');
});

test('malformed: the server is still healthy afterwards', async () => {
  const r = await fetch(server.url + '/health');
  assert.equal(r.status, 200);
});

test('malformed: mutated request bodies and headers never answer 5xx (seeded, deterministic)', async () => {
  let seed = 20261122;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const bodies: Array<[string, string]> = [
    ['PROPFIND', '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><Z:x xmlns:Z="urn:z"/></D:prop></D:propfind>'],
    ['PROPPATCH', '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><Z:x xmlns:Z="urn:z" xml:lang="en">v</Z:x></D:prop></D:set><D:remove><D:prop><Z:y xmlns:Z="urn:z"/></D:prop></D:remove></D:propertyupdate>'],
    ['LOCK', LOCKINFO('exclusive')],
  ];
  const junk = ['<', '>', '&', '"', ':', 'xmlns', '<!DOCTYPE', ']]>', '\u0000', '\uFFFE', '&#0;', '&#x110000;', '</D:prop>', 'D:', ' '];
  const headerValues: Record<string, string[]> = {
    depth: ['0', '1', 'infinity', '-1', 'x', ''],
    if: ['(<urn:a>)', '(Not)', '<>', '([', '(<a>) <b>', 'Not <a>'],
    timeout: ['Second-1', 'Second-99999999999999', 'Infinite', 'Second-', 'x'],
    overwrite: ['T', 'F', 'X'],
  };
  for (let i = 0; i < 300; i++) {
    const [method, base] = bodies[i % bodies.length]!;
    let body = base;
    for (let k = 0; k < 3; k++) {
      const at = Math.floor(random() * body.length);
      const cut = Math.floor(random() * 6);
      body = body.slice(0, at) + junk[Math.floor(random() * junk.length)]! + body.slice(at + cut);
    }
    const headers: Record<string, string> = {};
    for (const [name, values] of Object.entries(headerValues)) if (random() < 0.3) headers[name] = values[Math.floor(random() * values.length)]!;
    const r = await dav(server, method, '/dav/m/fuzz.txt', { headers, body });
    await r.arrayBuffer();
    assert.ok(r.status < 500, `${method} ${JSON.stringify(headers)} ${JSON.stringify(body)} → ${r.status}`);
    if (method === 'LOCK' && r.headers.get('lock-token')) await dav(server, 'UNLOCK', '/dav/m/fuzz.txt', { headers: { 'lock-token': r.headers.get('lock-token')! } });
  }
});
