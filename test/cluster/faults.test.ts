import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCluster, type TestCluster } from '../helpers/cluster.js';
import { ensureServicesRunning, startPostgres, startRedis, stopPostgres, stopRedis, waitFor } from '../helpers/services.js';

// PostgreSQL and Redis are stopped and started for real here. Each test restores them in a finally
// block, and the file's after() checks once more, so a failure cannot leave the machine without them.

let cluster: TestCluster;
before(async () => {
  await ensureServicesRunning();
  cluster = await startCluster({ size: 3 });
});
after(async () => {
  await ensureServicesRunning();
  await cluster?.close();
});

const node = (i: number) => cluster.nodes[i]!;
const pause = () => new Promise((r) => setTimeout(r, 10));

async function health(i: number): Promise<{ httpStatus: number; status: string; checks: Record<string, { status: string }> }> {
  const res = await fetch(`${node(i).url}/health`);
  const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
  return { httpStatus: res.status, ...body };
}

/**
 * Writes new files round-robin over the nodes until stopped, remembering
 * every write that was acknowledged and every status that was neither a
 * success nor a 503.
 */
function startWriter(dir: string) {
  const acked = new Map<string, string>();
  const unexpected: string[] = [];
  const statuses = new Set<number>();
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const path = `/${dir}/f${i}`;
      const body = `${dir} body ${i} `.repeat(50);
      try {
        const res = await node(i % 3).request('PUT', `/v1/files${path}?parents=true`, { body });
        statuses.add(res.status);
        if (res.status === 200 || res.status === 201) acked.set(path, body);
        else if (res.status !== 503) unexpected.push(`${res.status} ${await res.text()}`);
        else assert.ok(res.headers.get('retry-after'), '503 carries Retry-After');
        await res.arrayBuffer().catch(() => {});
      } catch (err) {
        unexpected.push(`request failed: ${(err as Error).message}`);
      }
      await pause();
    }
  })();
  return {
    acked,
    unexpected,
    statuses,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function verifyEverywhere(acked: Map<string, string>): Promise<void> {
  for (const [path, body] of acked) {
    for (const i of [0, 1, 2]) {
      const res = await node(i).request('GET', `/v1/files${path}`);
      assert.equal(res.status, 200, `node ${i + 1} has acknowledged ${path}`);
      assert.equal(await res.text(), body, `node ${i + 1} serves the acknowledged content of ${path}`);
    }
  }
}

test('PostgreSQL stopped and restarted mid-run: 503 with Retry-After meanwhile, then recovery by itself, no acknowledged write lost', async () => {
  const writer = startWriter('pg-fault');
  try {
    await waitFor('some writes before the fault', async () => writer.acked.size >= 5);
    const before = writer.acked.size;
    try {
      await stopPostgres();
      for (const i of [0, 1, 2]) {
        await waitFor(`node ${i + 1} /health to report the metadata store`, async () => {
          const h = await health(i);
          return h.httpStatus === 503 && h.status === 'error' && h.checks.metadata?.status === 'error';
        });
        const res = await node(i).request('PUT', `/v1/files/pg-fault/during-${i}`, { body: 'x' });
        assert.equal(res.status, 503);
        assert.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After is set');
        const listing = await node(i).request('GET', '/v1/directories/pg-fault-never-read');
        assert.equal(listing.status, 503, 'an uncached read is 503 too');
      }
      await waitFor('the writer to see the outage', async () => writer.statuses.has(503));
    } finally {
      await startPostgres();
    }
    for (const i of [0, 1, 2]) await waitFor(`node ${i + 1} to recover`, async () => (await health(i)).status === 'ok');
    await waitFor('writes to be acknowledged again', async () => writer.acked.size >= before + 6);
  } finally {
    await writer.stop();
  }
  assert.deepEqual(writer.unexpected, [], 'only successes and 503s, never a 500');
  await verifyEverywhere(writer.acked);
});

test('Redis stopped and restarted mid-run: writes 503, reads go on, /health degraded; then recovery with coherent caches', async () => {
  assert.equal((await node(0).request('PUT', '/v1/files/redis-fault/coherent.txt?parents=true', { body: 'v0' })).status, 201);
  for (const i of [0, 1, 2]) assert.equal(await (await node(i).request('GET', '/v1/files/redis-fault/coherent.txt')).text(), 'v0');
  const writer = startWriter('redis-fault-w');
  try {
    await waitFor('some writes before the fault', async () => writer.acked.size >= 5);
    const before = writer.acked.size;
    try {
      await stopRedis();
      for (const i of [0, 1, 2]) {
        await waitFor(`node ${i + 1} /health to be degraded`, async () => {
          const h = await health(i);
          return h.httpStatus === 200 && h.status === 'degraded' && h.checks.locks?.status === 'degraded';
        });
        const write = await node(i).request('PUT', '/v1/files/redis-fault/coherent.txt', { body: 'refused' });
        assert.equal(write.status, 503);
        assert.ok(Number(write.headers.get('retry-after')) > 0);
        // Reads keep working, including content another node holds.
        const read = await node(i).request('GET', '/v1/files/redis-fault/coherent.txt');
        assert.equal(read.status, 200);
        assert.equal(await read.text(), 'v0');
        assert.equal((await node(i).request('GET', '/v1/directories/redis-fault')).status, 200);
      }
    } finally {
      await startRedis();
    }
    for (const i of [0, 1, 2]) await waitFor(`node ${i + 1} to recover`, async () => (await health(i)).status === 'ok');
    await waitFor('writes to be acknowledged again', async () => writer.acked.size >= before + 6);
  } finally {
    await writer.stop();
  }
  assert.deepEqual(writer.unexpected, [], 'only successes and 503s, never a 500');
  await verifyEverywhere(writer.acked);
  // Redis came back empty (no persistence): the change counter starts again, and caches must still not go stale.
  for (let v = 1; v <= 20; v++) {
    const res = await node(v % 3).request('PUT', '/v1/files/redis-fault/coherent.txt', { body: `v${v}` });
    assert.equal(res.status, 200);
    for (const i of [0, 1, 2]) assert.equal(await (await node(i).request('GET', '/v1/files/redis-fault/coherent.txt')).text(), `v${v}`, `node ${i + 1} sees v${v}`);
  }
});
