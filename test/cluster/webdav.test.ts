import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { LOCKINFO, dav, propfindBody } from '../dav/dav-client.js';

// WebDAV through different nodes of one cluster: WebDAV locks are rows in the shared database,
// so a lock taken through one node binds writers on every node.

let cluster: TestCluster;
before(async () => {
  cluster = await startCluster({ size: 3 });
});
after(async () => {
  await cluster?.close();
});

const node = (i: number) => cluster.nodes[i]!;

test('a WebDAV LOCK taken on node 1 blocks a write through node 2 (423) until UNLOCK', async () => {
  assert.equal((await dav(node(0), 'PUT', '/dav/report.txt', { body: 'v1' })).status, 201);
  const lock = await dav(node(0), 'LOCK', '/dav/report.txt', { headers: { timeout: 'Second-600', depth: '0' }, body: LOCKINFO('exclusive') });
  assert.equal(lock.status, 200);
  const token = lock.headers.get('lock-token')!;
  assert.match(token, /^<urn:uuid:/);

  assert.equal((await dav(node(1), 'PUT', '/dav/report.txt', { body: 'intruder' })).status, 423, 'DAV PUT through node 2');
  assert.equal((await node(2).request('PUT', '/v1/files/report.txt', { body: 'intruder' })).status, 423, 'REST PUT through node 3');
  assert.equal((await dav(node(2), 'DELETE', '/dav/report.txt')).status, 423, 'DAV DELETE through node 3');
  // lockdiscovery on another node shows the lock.
  const pf = await dav(node(2), 'PROPFIND', '/dav/report.txt', { headers: { depth: '0' }, body: propfindBody('<D:lockdiscovery/>') });
  assert.equal(pf.status, 207);
  assert.ok((await pf.text()).includes(token.slice(1, -1)));
  // The lock holder's token works on any node.
  assert.equal((await dav(node(1), 'PUT', '/dav/report.txt', { headers: { if: `(${token})` }, body: 'v2' })).status, 204);

  assert.equal((await dav(node(2), 'UNLOCK', '/dav/report.txt', { headers: { 'lock-token': token } })).status, 204);
  assert.equal((await dav(node(1), 'PUT', '/dav/report.txt', { body: 'v3' })).status, 204);
  for (const i of [0, 1, 2]) assert.equal(await (await dav(node(i), 'GET', '/dav/report.txt')).text(), 'v3');
});

test('MOVE of a collection through node 2 is seen by PROPFIND on nodes 1 and 3', async () => {
  assert.equal((await dav(node(0), 'MKCOL', '/dav/album/')).status, 201);
  assert.equal((await dav(node(0), 'PUT', '/dav/album/photo.jpg', { body: 'jpeg' })).status, 201);
  for (const i of [0, 2]) assert.equal((await dav(node(i), 'PROPFIND', '/dav/album/', { headers: { depth: '1' } })).status, 207);
  const move = await dav(node(1), 'MOVE', '/dav/album/', { headers: { destination: `${node(1).url}/dav/album-2024/` } });
  assert.equal(move.status, 201);
  for (const i of [0, 2]) {
    assert.equal((await dav(node(i), 'PROPFIND', '/dav/album/', { headers: { depth: '1' } })).status, 404);
    assert.equal(await (await dav(node(i), 'GET', '/dav/album-2024/photo.jpg')).text(), 'jpeg');
  }
});
