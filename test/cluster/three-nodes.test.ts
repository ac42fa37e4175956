import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ROOT_PRINCIPAL } from '../../src/vfs/types.js';
import { bytesOf, startCluster, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
before(async () => {
  // Content on each node's own disk, so that every read from another node crosses the internal proxy
  // (small files would otherwise be inline in PostgreSQL; test/cluster/links-inline.test.ts covers that).
  cluster = await startCluster({ size: 3, config: { backend: { inline_max_bytes: 0 } } });
});
after(async () => {
  await cluster?.close();
});

const node = (i: number) => cluster.nodes[i]!;
/** GET /v1/usage's used_bytes, as node `i` reads it. */
const usedOn = async (i: number) => ((await (await node(i).request('GET', '/v1/usage')).json()) as { used_bytes: number }).used_bytes;

test('a file written on node 1 is read byte-exact on nodes 2 and 3, ranges included', async () => {
  const body = randomBytes(3 * 1024 * 1024 + 17);
  const put = await node(0).request('PUT', '/v1/files/shared/big.bin?parents=true', { body });
  assert.equal(put.status, 201, await put.clone().text());
  for (const i of [1, 2]) {
    const res = await node(i).request('GET', '/v1/files/shared/big.bin');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), put.headers.get('etag'));
    assert.ok((await bytesOf(res)).equals(body), `node ${i + 1} serves the same bytes`);
    const part = await node(i).request('GET', '/v1/files/shared/big.bin', { headers: { range: 'bytes=1000000-1000099' } });
    assert.equal(part.status, 206);
    assert.ok((await bytesOf(part)).equals(body.subarray(1_000_000, 1_000_100)));
    const head = await node(i).request('HEAD', '/v1/files/shared/big.bin');
    assert.equal(head.headers.get('x-callfs-instance-id'), 'node-1');
  }
  const metrics = await (await fetch(`${node(1).url}/metrics`)).text();
  assert.match(metrics, /callfs_cross_server_operations_total\{operation="proxy_success",source_instance="node-2",target_instance="node-1"\} [1-9]/);
  assert.match(metrics, /callfs_cache_operations_total\{operation="(hit|miss)",cache_type="metadata"\} [1-9]/);
});

test('50 concurrent PUTs of one path over three nodes leave one whole body and one ETag everywhere', async () => {
  const bodies = Array.from({ length: 50 }, (_, i) => Buffer.alloc(64 * 1024 + i, `writer-${i};`));
  const usedBefore = await usedOn(0);
  const results = await Promise.all(bodies.map((body, i) => node(i % 3).request('PUT', '/v1/files/race/target.bin?parents=true', { body })));
  const statuses = results.map((r) => r.status);
  assert.ok(statuses.every((s) => s === 200 || s === 201), `every PUT succeeded: ${statuses.join(',')}`);
  assert.equal(statuses.filter((s) => s === 201).length, 1, 'exactly one PUT created the file');
  const etags = new Set(results.map((r) => r.headers.get('etag')));
  assert.equal(etags.size, 50, 'each acknowledged PUT got its own version');
  const seen = await Promise.all([0, 1, 2].map(async (i) => {
    const res = await node(i).request('GET', '/v1/files/race/target.bin');
    assert.equal(res.status, 200);
    return { etag: res.headers.get('etag'), body: await bytesOf(res) };
  }));
  assert.equal(new Set(seen.map((s) => s.etag)).size, 1, 'one ETag on every node');
  const winner = bodies.findIndex((b) => b.equals(seen[0]!.body));
  assert.ok(winner >= 0, 'the content is one whole body that was sent');
  for (const s of seen) assert.ok(s.body.equals(bodies[winner]!));
  assert.equal(results[winner]!.headers.get('etag'), seen[0]!.etag, 'the ETag is the one the winning PUT was given');
  // 49 replaces, each a size change written by some connection of some node: the total counts the one file once.
  for (const i of [0, 1, 2]) assert.equal(await usedOn(i), usedBefore + bodies[winner]!.length, `used bytes on node ${i + 1}`);
});

test('concurrent PUTs with ?parents=true into one new tree from all nodes all succeed', async () => {
  const usedBefore = await usedOn(2);
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => node(i % 3).request('PUT', `/v1/files/fresh/a/b/c/file-${i}?parents=true`, { body: `file ${i}` })),
  );
  assert.deepEqual(results.map((r) => r.status), Array(30).fill(201));
  const listing = (await (await node(2).request('GET', '/v1/directories/fresh/a/b/c')).json()) as { count: number };
  assert.equal(listing.count, 30);
  const added = Array.from({ length: 30 }, (_, i) => `file ${i}`.length).reduce((a, b) => a + b, 0);
  for (const i of [0, 1, 2]) assert.equal(await usedOn(i), usedBefore + added, `used bytes on node ${i + 1}`);
});

test('a directory renamed on node 2 is renamed for everyone', async () => {
  assert.equal((await node(0).request('PUT', '/v1/files/proj/src/main.c?parents=true', { body: 'int main;' })).status, 201);
  // Every node looks at the old tree first, so its cache holds it.
  for (const i of [0, 1, 2]) assert.equal((await node(i).request('GET', '/v1/files/proj/src/main.c')).status, 200);
  const patch = await node(1).request('PATCH', '/v1/files/proj', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ destination: '/renamed' }) });
  assert.equal(patch.status, 200, await patch.clone().text());
  for (const i of [0, 1, 2]) {
    assert.equal((await node(i).request('GET', '/v1/files/proj/src/main.c')).status, 404, `node ${i + 1}: old path gone`);
    const res = await node(i).request('GET', '/v1/files/renamed/src/main.c');
    assert.equal(res.status, 200, `node ${i + 1}: new path there`);
    assert.equal(await res.text(), 'int main;');
  }
});

test('a POST of a path that exists on another node is 409 naming where it lives', async () => {
  assert.equal((await node(0).request('POST', '/v1/files/owned.txt', { body: 'mine' })).status, 201);
  const res = await node(2).request('POST', '/v1/files/owned.txt', { body: 'theirs' });
  assert.equal(res.status, 409);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.code, 'ALREADY_EXISTS');
  assert.equal(typeof body.message, 'string');
  assert.equal(body.instance_id, 'node-1');
  assert.equal(body.backend_type, 'localfs');
  assert.match(String(body.update_url), /\/v1\/files\/owned\.txt$/);
  assert.equal(await (await node(1).request('GET', '/v1/files/owned.txt')).text(), 'mine');
});

test('PUT, PATCH and DELETE of a file held by another node work from any node', async () => {
  assert.equal((await node(2).request('PUT', '/v1/files/remote.txt', { body: 'v1' })).status, 201);
  assert.equal((await node(0).request('PUT', '/v1/files/remote.txt', { body: 'v2' })).status, 200);
  assert.equal(await (await node(1).request('GET', '/v1/files/remote.txt')).text(), 'v2');
  const patch = await node(1).request('PATCH', '/v1/files/remote.txt', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: '0600' }) });
  assert.equal(patch.status, 200);
  assert.equal((await node(2).request('HEAD', '/v1/files/remote.txt')).headers.get('x-callfs-mode'), '0600');
  assert.equal((await node(2).request('DELETE', '/v1/files/remote.txt')).status, 204);
  for (const i of [0, 1, 2]) assert.equal((await node(i).request('GET', '/v1/files/remote.txt')).status, 404);
});

test('a WebDAV lock taken on node 1 blocks a write through node 2 (REST 423) until it is released', async () => {
  // Through the VFS lock API and REST; test/cluster/webdav.test.ts does the same with DAV LOCK and PUT.
  assert.equal((await node(0).request('PUT', '/v1/files/locked.txt', { body: 'before' })).status, 201);
  const { lock } = await node(0).server.vfs.lock({ principal: ROOT_PRINCIPAL }, '/locked.txt', { scope: 'exclusive', depth: 0, ownerXml: null, timeoutSeconds: 300 });
  const blocked = await node(1).request('PUT', '/v1/files/locked.txt', { body: 'during' });
  assert.equal(blocked.status, 423);
  await node(2).server.vfs.unlock({ principal: ROOT_PRINCIPAL }, '/locked.txt', lock.token);
  assert.equal((await node(1).request('PUT', '/v1/files/locked.txt', { body: 'after' })).status, 200);
  assert.equal(await (await node(0).request('GET', '/v1/files/locked.txt')).text(), 'after');
});

test('the internal blob route wants the secret', async () => {
  const res = await fetch(`${node(0).url}/internal/blobs/localfs/${'0'.repeat(32)}`);
  assert.equal(res.status, 401);
  const wrong = await fetch(`${node(0).url}/internal/blobs/localfs/${'0'.repeat(32)}`, { headers: { 'x-callfs-internal-secret': 'not-the-secret' } });
  assert.equal(wrong.status, 401);
});

test('nodes register themselves with heartbeats', async () => {
  const instances = await node(0).server.vfs.store.listInstances();
  assert.deepEqual(instances.map((i) => i.instanceId).sort(), ['node-1', 'node-2', 'node-3']);
  for (const i of instances) assert.equal(i.endpoint, cluster.nodes[Number(i.instanceId.slice(5)) - 1]!.url);
});

test('a peer that is down is 502 for the content it holds, and only for that', async () => {
  assert.equal((await node(2).request('PUT', '/v1/files/on-node-3.txt', { body: 'three' })).status, 201);
  assert.equal((await node(0).request('PUT', '/v1/files/on-node-1.txt', { body: 'one' })).status, 201);
  const dataDir = node(2).dataDir;
  await node(2).server.close();
  try {
    const res = await node(1).request('GET', '/v1/files/on-node-3.txt');
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as { instance_id?: string }).instance_id, 'node-3');
    assert.equal(await (await node(1).request('GET', '/v1/files/on-node-1.txt')).text(), 'one');
    assert.equal((await node(1).request('HEAD', '/v1/files/on-node-3.txt')).status, 200, 'metadata is still served');
  } finally {
    // Back under the same id and disk, on a new port: its registration moves with it.
    await cluster.startNode(2, dataDir);
  }
  assert.equal(await (await node(1).request('GET', '/v1/files/on-node-3.txt')).text(), 'three');
});
