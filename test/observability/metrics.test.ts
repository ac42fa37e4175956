import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ADMIN_KEY, ALICE, startTestServer, type TestServer } from '../helpers/server.js';

/** Parses Prometheus text into family → samples (labels as a record). */
function parse(text: string): Map<string, Array<{ labels: Record<string, string>; value: number }>> {
  const families = new Map<string, Array<{ labels: Record<string, string>; value: number }>>();
  for (const line of text.split('\n')) {
    const help = /^# HELP (\S+)/.exec(line);
    if (help) families.set(help[1]!, families.get(help[1]!) ?? []);
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const name = m[1]!.replace(/_(bucket|sum|count)$/, '');
    const family = families.get(m[1]!) ?? families.get(name);
    if (!family) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    family.push({ labels, value: Number(m[3]) });
  }
  return families;
}

describe('/metrics exposes every reference family', () => {
  let t: TestServer;
  const json = { 'content-type': 'application/json' };
  before(async () => {
    t = await startTestServer();
    await t.request('PUT', '/v1/files/m.txt', { body: 'metrics' });
    await t.request('PUT', '/v1/files/big.bin', { body: Buffer.alloc(100_000, 1) });
    await t.request('GET', '/v1/files/big.bin');
    await t.request('DELETE', '/v1/files/big.bin');
    await t.request('GET', '/v1/files/m.txt');
    await t.request('POST', '/v1/files/m.txt', { body: 'again' });
    await t.request('GET', '/v1/directories/');
    await t.request('GET', '/v1/files/missing');
    await t.request('DELETE', '/v1/files/m.txt', { key: ALICE.api_keys[0] });
    const link = await t.request('POST', '/v1/links/generate', { headers: json, body: JSON.stringify({ path: '/m.txt', expiry_seconds: 60 }) });
    const { token } = (await link.json()) as { token: string };
    await fetch(`${t.url}/download/${token}`).then((r) => r.text());
    await fetch(`${t.url}/download/${token}`).then((r) => r.text());
    await fetch(`${t.url}/download/forged.token`).then((r) => r.text());
    await t.request('DELETE', '/v1/files/m.txt');
  });
  after(() => t.close());

  test('families, labels, and non-zero counts for what was exercised', async () => {
    const res = await fetch(`${t.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const f = parse(await res.text());
    const sum = (name: string, where: Record<string, string> = {}) =>
      (f.get(name) ?? []).filter((s) => Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

    for (const name of [
      'callfs_http_requests_total', 'callfs_http_request_duration_seconds', 'callfs_backend_ops_total', 'callfs_backend_op_duration_seconds',
      'callfs_metadata_db_queries_total', 'callfs_metadata_db_query_duration_seconds', 'callfs_single_use_link_generations_total',
      'callfs_single_use_link_consumptions_total', 'callfs_lock_operations_total', 'callfs_lock_operation_duration_seconds', 'callfs_active_locks',
      'callfs_cache_operations_total', 'callfs_cache_size', 'callfs_cross_server_operations_total', 'callfs_cross_server_operation_duration_seconds',
      'process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(f.has(name), `missing family ${name}`);
    }
    // The path label is the route pattern, never the raw URL.
    assert.ok(sum('callfs_http_requests_total', { method: 'PUT', path: '/v1/files/*', status_code: '201' }) >= 1);
    assert.ok(sum('callfs_http_requests_total', { method: 'POST', path: '/v1/files/*', status_code: '409' }) >= 1);
    assert.ok(sum('callfs_http_requests_total', { method: 'GET', path: '/v1/directories/*', status_code: '200' }) >= 1);
    assert.ok(sum('callfs_http_requests_total', { method: 'DELETE', path: '/v1/files/*', status_code: '403' }) >= 1);
    assert.ok(!(f.get('callfs_http_requests_total') ?? []).some((s) => s.labels.path?.includes('m.txt')));
    assert.ok(sum('callfs_http_request_duration_seconds', { method: 'GET', path: '/v1/files/*' }) > 0);
    assert.ok(sum('callfs_backend_ops_total', { backend_type: 'localfs', operation: 'create' }) >= 1);
    assert.ok(sum('callfs_metadata_db_queries_total', { operation: 'create_inline_blob' }) >= 1);
    assert.ok(sum('callfs_backend_ops_total', { backend_type: 'localfs', operation: 'open' }) >= 1);
    assert.ok(sum('callfs_backend_ops_total', { backend_type: 'localfs', operation: 'delete' }) >= 1);
    assert.ok(sum('callfs_backend_op_duration_seconds', { backend_type: 'localfs', operation: 'create' }) > 0);
    for (const op of ['get_metadata', 'create_metadata', 'update_metadata', 'delete_metadata', 'list_directory', 'create_link', 'consume_link']) {
      assert.ok(sum('callfs_metadata_db_queries_total', { operation: op }) >= 1, op);
    }
    assert.ok(sum('callfs_metadata_db_query_duration_seconds', { operation: 'get_metadata' }) > 0);
    assert.equal(sum('callfs_single_use_link_generations_total', { status: 'success' }), 1);
    assert.equal(sum('callfs_single_use_link_consumptions_total', { status: 'success' }), 1);
    assert.equal(sum('callfs_single_use_link_consumptions_total', { status: 'used' }), 1);
    assert.equal(sum('callfs_single_use_link_consumptions_total', { status: 'invalid' }), 1);
    assert.ok(sum('callfs_lock_operations_total', { operation: 'acquire', status: 'success' }) >= 3);
    assert.ok(sum('callfs_lock_operations_total', { operation: 'release', status: 'success' }) >= 3);
    assert.ok(sum('callfs_lock_operation_duration_seconds', { operation: 'acquire' }) > 0);
    assert.equal(sum('callfs_active_locks'), 0);
    assert.ok(sum('callfs_cache_operations_total', { operation: 'hit', cache_type: 'metadata' }) >= 1);
    assert.ok(sum('callfs_cache_operations_total', { operation: 'miss', cache_type: 'metadata' }) >= 1);
    assert.ok((f.get('callfs_cache_size') ?? []).some((x) => x.labels.cache_type === 'metadata'));
    assert.ok(sum('callfs_cross_server_operations_total', { operation: 'conflict_detected', source_instance: t.server.vfs.instanceId }) >= 1);
  });

  test('/metrics and /health need no auth', async () => {
    assert.equal((await fetch(`${t.url}/metrics`)).status, 200);
    const health = await fetch(`${t.url}/health`);
    assert.equal(health.status, 200);
    const body = (await health.json()) as { status: string; checks: Record<string, { status: string }> };
    assert.equal(body.status, 'ok');
    assert.deepEqual(Object.keys(body.checks).sort(), ['backend:inline', 'backend:localfs', 'locks', 'metadata']);
  });
});

describe('logs', () => {
  test('one access line per request with a request id; auth failures at warn; no secret ever logged', async () => {
    const lines: string[] = [];
    const t = await startTestServer({ logLines: lines });
    try {
      await t.request('PUT', '/v1/files/l.txt', { body: 'x', headers: { 'x-trace-id': 'trace-abc' } });
      const res = await t.request('GET', '/v1/files/l.txt', { key: 'wrong-key-but-long-enough' });
      assert.equal(res.status, 401);
      assert.ok(res.headers.get('x-request-id'));
      await t.request('GET', '/v1/files/', { key: null, headers: { authorization: 'Basic ' + Buffer.from(`alice:${ALICE.password}`).toString('base64') } });
      await t.request('GET', '/v1/files/', { key: null, headers: { authorization: 'Basic ' + Buffer.from('alice:not-her-password').toString('base64') } });
    } finally {
      await t.close();
    }
    const text = lines.join('');
    for (const secret of [ADMIN_KEY, 'wrong-key-but-long-enough', ALICE.password, 'not-her-password', ALICE.api_keys[0]!]) {
      assert.ok(!text.includes(secret), `log contains a secret: ${secret}`);
    }
    const records = lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const access = records.filter((r) => r.msg === 'HTTP request');
    assert.equal(access.length, 4);
    for (const r of access) assert.ok(r.reqId && r.method && r.status && typeof r.duration === 'number');
    assert.equal(access[0]!.trace_id, 'trace-abc');
    const failures = records.filter((r) => String(r.msg).startsWith('Authentication failed'));
    assert.equal(failures.length, 2);
    for (const r of failures) {
      assert.equal(r.level, 40);
      assert.equal(r.remote_addr, '127.0.0.1');
    }
  });
});
