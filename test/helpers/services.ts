import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { Redis } from 'ioredis';
import { PG_ADMIN_DSN } from './postgres.js';
import { REDIS_ADDR } from './redis.js';

// Stopping and starting the real PostgreSQL and Redis of the test machine, for fault tests.
// Every test that stops one must call ensureServicesRunning() in a finally block.

const run = promisify(execFile);

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function postgresUp(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_DSN, connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function redisUp(): Promise<boolean> {
  const [host, port] = REDIS_ADDR.split(':');
  const client = new Redis({ host, port: Number(port), lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

const PG_CTL = ['--skip-systemctl-redirect', '15', 'main'];

export async function stopPostgres(): Promise<void> {
  await run('pg_ctlcluster', [...PG_CTL, 'stop']);
  await waitFor('PostgreSQL to stop', async () => !(await postgresUp()));
}

export async function startPostgres(): Promise<void> {
  if (!(await postgresUp())) await run('pg_ctlcluster', [...PG_CTL, 'start']).catch(() => {});
  await waitFor('PostgreSQL to accept connections', postgresUp);
}

export async function stopRedis(): Promise<void> {
  await run('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'nosave']).catch(() => {});
  await waitFor('Redis to stop', async () => !(await redisUp()));
}

export async function startRedis(): Promise<void> {
  if (!(await redisUp())) {
    await run('redis-server', [
      '--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no',
      '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log',
    ]).catch(() => {});
  }
  await waitFor('Redis to answer PING', redisUp);
}

/** Brings both services back, whatever state a failed test left them in. */
export async function ensureServicesRunning(): Promise<void> {
  await Promise.all([startPostgres(), startRedis()]);
}
