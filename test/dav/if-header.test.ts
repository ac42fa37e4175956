import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { evaluateIf, parseIfHeader, submittedTokens } from '../../src/dav/if-header.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { LOCKINFO, dav } from './dav-client.js';

test('If header parser: untagged and tagged lists, Not, ETags, tokens', () => {
  assert.deepEqual(parseIfHeader('(<urn:uuid:a> ["e1"]) (Not <DAV:no-lock>)'), [
    { resource: null, conditions: [{ not: false, kind: 'token', token: 'urn:uuid:a' }, { not: false, kind: 'etag', etag: 'e1', weak: false }] },
    { resource: null, conditions: [{ not: true, kind: 'token', token: 'DAV:no-lock' }] },
  ]);
  const tagged = parseIfHeader('<http://h/dav/a> (<urn:uuid:a>) <http://h/dav/b> (NOT [W/"x"])');
  assert.equal(tagged.length, 2);
  assert.equal(tagged[0]!.resource, 'http://h/dav/a');
  assert.deepEqual(tagged[1]!.conditions, [{ not: true, kind: 'etag', etag: 'x', weak: true }]);
  assert.deepEqual(submittedTokens(parseIfHeader('(<urn:a>) (Not <urn:b>)')), ['urn:a']);
  for (const bad of ['', '(', '()', '(<a>', '(["x"', '([x])', '<http://h/a>', '(<a>) <http://h/b> (<c>)', 'garbage', '(Nott <a>)', '(<a b>)']) {
    assert.throws(() => parseIfHeader(bad), /malformed If header/, `should refuse ${JSON.stringify(bad)}`);
  }
});

test('If header evaluation: any list, every condition; weak ETags never match', async () => {
  const state = async () => ({ etag: 'e1', lockTokens: ['urn:t'] });
  assert.equal(await evaluateIf(parseIfHeader('(<urn:t>)'), state), true);
  assert.equal(await evaluateIf(parseIfHeader('(<urn:x>)'), state), false);
  assert.equal(await evaluateIf(parseIfHeader('(<urn:x>) (Not <DAV:no-lock>)'), state), true);
  assert.equal(await evaluateIf(parseIfHeader('(<urn:t> ["e2"])'), state), false);
  assert.equal(await evaluateIf(parseIfHeader('(<urn:t> ["e1"])'), state), true);
  assert.equal(await evaluateIf(parseIfHeader('([W/"e1"])'), state), false);
  assert.equal(await evaluateIf(parseIfHeader('(Not ["e1"])'), state), false);
  assert.equal(await evaluateIf(parseIfHeader('(Not ["e2"])'), state), true);
});

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => server.close());

test('If header over HTTP: 412 when no list holds, 423 when the lock token is not submitted, tagged lists address other resources', async () => {
  const put = (p: string, body: string, headers: Record<string, string> = {}) => dav(server, 'PUT', p, { body, headers });
  const first = await put('/dav/if.txt', 'one');
  const etag = first.headers.get('etag')!;
  assert.equal((await put('/dav/if.txt', 'two', { if: `([${etag}])` })).status, 204);
  assert.equal((await put('/dav/if.txt', 'three', { if: `([${etag}])` })).status, 412, 'the ETag changed');
  assert.equal((await put('/dav/if.txt', 'three', { if: '(<urn:uuid:nonesuch>)' })).status, 412);
  const l = await dav(server, 'LOCK', '/dav/if.txt', { body: LOCKINFO('exclusive') });
  const token = l.headers.get('lock-token')!;
  assert.equal((await put('/dav/if.txt', 'x', { if: '(Not <DAV:no-lock>)' })).status, 423, 'a true If header without the token is still locked out');
  assert.equal((await put('/dav/if.txt', 'x', { if: `<${server.url}/dav/if.txt> (${token})` })).status, 204);
  assert.equal((await put('/dav/if.txt', 'y', { if: `<${server.url}/dav/other.txt> (${token})` })).status, 412, 'the token does not cover the tagged resource');
  const cur = (await dav(server, 'HEAD', '/dav/if.txt')).headers.get('etag')!;
  assert.equal((await put('/dav/if.txt', 'z', { if: `(${token} [${cur}])` })).status, 204);
  assert.equal((await put('/dav/if.txt', 'z', { if: '(<urn:uuid:a' })).status, 400);
  assert.equal((await dav(server, 'UNLOCK', '/dav/if.txt', { headers: { 'lock-token': token } })).status, 204);
});
