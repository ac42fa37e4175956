import type { Vfs } from './vfs/vfs.js';

export type ComponentStatus = 'ok' | 'degraded' | 'error';

export interface HealthReport {
  status: ComponentStatus;
  instance_id: string;
  checks: Record<string, { status: ComponentStatus; type?: string; error?: string; latency_ms?: number }>;
}

async function probe(fn: () => Promise<void>, timeoutMs: number): Promise<{ ok: boolean; error?: string; latency_ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { ok: true, latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { ok: false, error: (err as Error).message, latency_ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The metadata store is essential (error when down); the lock manager and the
 * backends degrade the service (reads or parts of the tree still work).
 */
export async function checkHealth(vfs: Vfs, extra: Record<string, () => Promise<void>> = {}, timeoutMs = 2000): Promise<HealthReport> {
  const checks: HealthReport['checks'] = {};
  const tasks: Array<Promise<void>> = [];
  const add = (name: string, type: string, essential: boolean, fn: () => Promise<void>) =>
    tasks.push(
      probe(fn, timeoutMs).then((r) => {
        checks[name] = { status: r.ok ? 'ok' : essential ? 'error' : 'degraded', type, latency_ms: r.latency_ms, ...(r.error ? { error: r.error } : {}) };
      }),
    );
  add('metadata', vfs.store.type, true, () => vfs.store.ping());
  add('locks', vfs.locks.type, false, () => vfs.locks.ping());
  for (const [name, backend] of vfs.backends.entries()) add(`backend:${name}`, backend.type, false, () => backend.ping());
  for (const [name, fn] of Object.entries(extra)) add(name, name, false, fn);
  await Promise.all(tasks);
  const statuses = Object.values(checks).map((c) => c.status);
  const status: ComponentStatus = statuses.includes('error') ? 'error' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, instance_id: vfs.instanceId, checks };
}
