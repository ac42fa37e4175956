import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisLockManager, type RedisLockOptions } from '../../src/vfs/locks/redis.js';

export const REDIS_ADDR = process.env.CALLFS_TEST_REDIS_ADDR ?? '127.0.0.1:6379';

/** A key prefix no other test run shares. */
export function uniquePrefix(label = 'test'): string {
  return `callfs-${label}-${process.pid}-${randomBytes(4).toString('hex')}:`;
}

/** Fails with a message naming Redis when it is not there. */
export async function requireRedis(): Promise<void> {
  const [host, port] = REDIS_ADDR.split(':');
  const client = new Redis({ host, port: Number(port), lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(`Redis is required for this test and is not reachable at ${REDIS_ADDR}: ${(err as Error).message}`);
  } finally {
    client.disconnect();
  }
}

/** Deletes every key under a prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const [host, port] = REDIS_ADDR.split(':');
  const client = new Redis({ host, port: Number(port), maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await client.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export function redisLocks(prefix: string, overrides: Partial<RedisLockOptions> = {}): RedisLockManager {
  return new RedisLockManager({
    redisAddr: REDIS_ADDR,
    keyPrefix: prefix,
    lockTimeoutMs: 5000,
    acquireTimeoutMs: 1500,
    retryDelayMs: 20,
    maxRetries: 10_000,
    connectTimeoutMs: 5000,
    ...overrides,
  });
}
