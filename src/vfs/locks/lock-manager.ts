/**
 * Short mutation locks that serialise writers of one path, across every node
 * that shares the lock manager. These are not WebDAV locks (those are rows in
 * the metadata store); they live only while one VFS operation commits.
 */
export interface LockManager {
  readonly type: 'local' | 'redis';
  /**
   * Acquires every key (sorted, so two callers never deadlock) and returns a
   * release function. Waits at most the configured time, then throws VfsError
   * BUSY (contention) or UNAVAILABLE (the lock service is down).
   */
  acquire(keys: readonly string[]): Promise<() => Promise<void>>;
  /** Number of locks this node holds right now (callfs_active_locks). */
  activeLocks(): number;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function withLocks<T>(manager: LockManager, keys: readonly string[], fn: () => Promise<T>): Promise<T> {
  const release = await manager.acquire(keys);
  try {
    return await fn();
  } finally {
    await release();
  }
}
