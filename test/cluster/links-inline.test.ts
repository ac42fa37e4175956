import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
const node = (i: number) => cluster.nodes[i]!;
const json = { 'content-type': 'application/json' };

before(async () => {
  cluster = await startCluster({ size: 2 });
});
after(() => cluster?.close());

async function metricSum(i: number, family: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${node(i).url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(family + '{') && !line.startsWith(family + ' ')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

test('a link made on one node works on the other; of 100 concurrent downloads over both, exactly one wins', async () => {
  await node(0).request('PUT', '/v1/files/shared.txt', { body: 'for one reader only' });
  const res = await node(0).request('POST', '/v1/links/generate', { headers: json, body: JSON.stringify({ path: '/shared.txt', expiry_seconds: 300 }) });
  assert.equal(res.status, 201);
  const { token } = (await res.json()) as { token: string };
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => fetch(`${node(i % 2).url}/download/${token}`).then(async (r) => ({ status: r.status, body: await r.text() }))),
  );
  assert.equal(results.filter((r) => r.status === 200).length, 1);
  assert.equal(results.filter((r) => r.status === 410).length, 99);
  assert.equal(results.find((r) => r.status === 200)!.body, 'for one reader only');
  const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
  assert.equal((await fetch(`${node(1).url}/download/${forged}`)).status, 404);
});

test('small files are inline in PostgreSQL: every node reads them without a peer hop', async () => {
  const before = await metricSum(1, 'callfs_cross_server_operations_total', { operation: 'proxy_success' });
  assert.equal((await node(0).request('PUT', '/v1/files/tiny.txt', { body: 'tiny' })).status, 201);
  assert.equal(await (await node(1).request('GET', '/v1/files/tiny.txt')).text(), 'tiny');
  assert.equal(await metricSum(1, 'callfs_cross_server_operations_total', { operation: 'proxy_success' }), before);
});

test('in PostgreSQL too, replacing or deleting a small file drops its inline content in the same transaction', async () => {
  const store = node(0).server.vfs.store;
  const inlineKeys = async () => {
    const keys: string[] = [];
    for await (const b of store.inlineBlobs()) keys.push(b.key);
    return keys;
  };
  assert.equal((await node(0).request('PUT', '/v1/files/churn/a.txt?parents=true', { body: 'first' })).status, 201);
  const first = (await store.lookup('/churn/a.txt'))!.blobKey!;
  assert.equal((await node(1).request('PUT', '/v1/files/churn/a.txt', { body: 'second' })).status, 200);
  const second = (await store.lookup('/churn/a.txt'))!.blobKey!;
  assert.ok(!(await inlineKeys()).includes(first), 'the replaced content is gone');
  assert.equal((await node(1).request('DELETE', '/v1/files/churn?recursive=true')).status, 204);
  assert.ok(!(await inlineKeys()).includes(second), 'the deleted file\'s content is gone');
  assert.equal((await node(0).request('GET', '/v1/files/churn/a.txt')).status, 404);
});

test('cross-server and cache metrics are emitted with their labels', async () => {
  const big = Buffer.alloc(200_000, 7);
  assert.equal((await node(0).request('PUT', '/v1/files/big.bin', { body: big })).status, 201);
  const got = Buffer.from(await (await node(1).request('GET', '/v1/files/big.bin')).arrayBuffer());
  assert.ok(got.equals(big));
  await node(1).request('HEAD', '/v1/files/big.bin');
  await node(1).request('HEAD', '/v1/files/big.bin');
  assert.ok((await metricSum(1, 'callfs_cross_server_operations_total', { operation: 'proxy_success', source_instance: 'node-2', target_instance: 'node-1' })) >= 1);
  assert.ok((await metricSum(1, 'callfs_cross_server_operation_duration_seconds_count', { operation: 'proxy_success', target_instance: 'node-1' })) >= 1);
  assert.ok((await metricSum(1, 'callfs_cache_operations_total', { operation: 'hit', cache_type: 'metadata' })) >= 1);
  assert.ok((await metricSum(1, 'callfs_cache_operations_total', { operation: 'miss', cache_type: 'metadata' })) >= 1);
  assert.ok((await metricSum(1, 'callfs_cache_size', { cache_type: 'metadata' })) >= 1);
  const conflict = await node(1).request('POST', '/v1/files/big.bin', { body: 'x' });
  assert.equal(conflict.status, 409);
  assert.ok((await metricSum(1, 'callfs_cross_server_operations_total', { operation: 'conflict_detected', target_instance: 'node-1' })) >= 1);
});
