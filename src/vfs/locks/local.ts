import { VfsError } from '../errors.js';
import type { LockManager } from './lock-manager.js';
import { KeyedMutex } from './mutex.js';

/** The embedded default: an in-process keyed mutex. Correct for one node only. */
export class LocalLockManager implements LockManager {
  readonly type = 'local' as const;
  private readonly mutex = new KeyedMutex();
  private held = 0;

  constructor(private readonly waitTimeoutMs = 30_000) {}

  async acquire(keys: readonly string[]): Promise<() => Promise<void>> {
    const sorted = [...new Set(keys)].sort();
    const releases: Array<() => void> = [];
    const releaseAll = () => {
      while (releases.length) releases.pop()!();
    };
    for (const key of sorted) {
      let timer: NodeJS.Timeout | undefined;
      const pending = this.mutex.acquire(key);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new VfsError('BUSY', `timed out waiting for the lock on ${key}`, { retryAfter: 1 })), this.waitTimeoutMs);
      });
      try {
        releases.push(await Promise.race([pending, timeout]));
      } catch (err) {
        // The waiter stays queued; release its slot as soon as it is granted.
        void pending.then((release) => release());
        releaseAll();
        throw err;
      } finally {
        clearTimeout(timer);
      }
    }
    this.held += sorted.length;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.held -= sorted.length;
      releaseAll();
    };
  }

  activeLocks(): number {
    return this.held;
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
