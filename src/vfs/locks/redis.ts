import { Redis } from 'ioredis';
import { Mutex, TimeoutError } from 'redis-semaphore';
import type { LockOptions } from 'redis-semaphore';
import { VfsError } from '../errors.js';
import type { LockManager } from './lock-manager.js';

export interface RedisLockOptions {
  /** host:port (dlm.redis_addr). */
  redisAddr: string;
  password?: string;
  /** Prefix of every key (dlm.key_prefix); locks are `<prefix>lock:<path>`. */
  keyPrefix: string;
  /** Lease of a lock; refreshed while it is held (dlm.lock_timeout). */
  lockTimeoutMs: number;
  /** Longest wait for a contended lock before BUSY (dlm.acquire_timeout). */
  acquireTimeoutMs: number;
  /** Pause between attempts on a contended lock (dlm.retry_delay). */
  retryDelayMs: number;
  /** Attempts after the first before BUSY, whichever of this and acquireTimeoutMs ends first (dlm.max_retries). */
  maxRetries: number;
  /** dlm.connect_timeout. */
  connectTimeoutMs: number;
  /** Told when a held lock's lease could not be kept (it expired while Redis was unreachable). */
  onLockLost?: (key: string, err: Error) => void;
  /** Told about connection trouble (ioredis reconnects by itself). */
  onConnectionError?: (err: Error) => void;
}

/** Seconds a client is asked to wait when Redis cannot be reached. */
export const REDIS_RETRY_AFTER_SECONDS = 5;

/**
 * redis-semaphore's Mutex stores its key as `mutex:<key>`; CallFS documents
 * `<prefix>lock:<path>`, so the key is set exactly. A refresh that fails
 * because Redis is briefly unreachable is not a lost lock (the next tick
 * tries again; if the lease ran out meanwhile, that refresh reports the loss)
 * and must not become an unhandled rejection inside the library's timer.
 */
class PathMutex extends Mutex {
  constructor(client: Redis, key: string, options: LockOptions) {
    super(client, key, options);
    this._key = key;
  }

  protected override async _refresh(): Promise<boolean> {
    try {
      return await super._refresh();
    } catch {
      return true;
    }
  }
}

/** host:port, [v6]:port or a bare host (port 6379). */
export function parseRedisAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0) return { host: addr, port: 6379 };
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(addr.slice(i + 1)) };
}

/**
 * Mutation locks shared by every node through Redis (single-instance Redlock
 * via redis-semaphore). A holder that crashes stops refreshing, so its lock
 * expires after one lease. With Redis down, acquire fails at once with
 * UNAVAILABLE instead of queueing: writes answer 503 while reads go on.
 */
export class RedisLockManager implements LockManager {
  readonly type = 'redis' as const;
  readonly client: Redis;
  private held = 0;
  private wasReady = false;

  constructor(private readonly options: RedisLockOptions) {
    this.client = new Redis({
      ...parseRedisAddr(options.redisAddr),
      password: options.password,
      connectTimeout: options.connectTimeoutMs,
      // Fail commands immediately while disconnected rather than queueing them behind a dead link.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    this.client.on('error', (err: Error) => options.onConnectionError?.(err));
    this.client.on('ready', () => (this.wasReady = true));
  }

  lockKey(path: string): string {
    return `${this.options.keyPrefix}lock:${path}`;
  }

  private unavailable(err: unknown): VfsError {
    return new VfsError('UNAVAILABLE', `the lock service (Redis) is unreachable: ${(err as Error)?.message ?? err}`, { retryAfter: REDIS_RETRY_AFTER_SECONDS }, { cause: err });
  }

  /** Waits for the first connection (start-up); once connected, an outage fails at once instead. */
  private async connected(): Promise<void> {
    if (this.client.status === 'ready') return;
    if (this.wasReady || !['connecting', 'connect', 'wait'].includes(this.client.status)) {
      throw this.unavailable(new Error(`connection is ${this.client.status}`));
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(this.unavailable(new Error(`no connection within ${this.options.connectTimeoutMs} ms`)));
      }, this.options.connectTimeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  async acquire(keys: readonly string[]): Promise<() => Promise<void>> {
    await this.connected();
    const sorted = [...new Set(keys)].sort();
    const deadline = Date.now() + this.options.acquireTimeoutMs;
    const held: Mutex[] = [];
    const releaseAll = async () => {
      // Release failures are harmless: the lease runs out by itself.
      while (held.length) await held.pop()!.release().catch(() => {});
    };
    try {
      for (const key of sorted) {
        const redisKey = this.lockKey(key);
        const mutex = new PathMutex(this.client, redisKey, {
          lockTimeout: this.options.lockTimeoutMs,
          acquireTimeout: Math.max(1, deadline - Date.now()),
          acquireAttemptsLimit: this.options.maxRetries + 1,
          retryInterval: this.options.retryDelayMs,
          // Refresh well before the lease ends, so one slow round trip does not lose it.
          refreshInterval: Math.max(1, Math.round(this.options.lockTimeoutMs / 3)),
          onLockLost: (err) => this.options.onLockLost?.(redisKey, err),
        });
        await mutex.acquire();
        held.push(mutex);
      }
    } catch (err) {
      await releaseAll();
      if (err instanceof TimeoutError) {
        throw new VfsError('BUSY', `timed out waiting for the lock on ${sorted.join(', ')}`, { retryAfter: 1 });
      }
      throw this.unavailable(err);
    }
    this.held += sorted.length;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.held -= sorted.length;
      await releaseAll();
    };
  }

  activeLocks(): number {
    return this.held;
  }

  async ping(): Promise<void> {
    await this.connected();
    try {
      await this.client.ping();
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  async close(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }
}
