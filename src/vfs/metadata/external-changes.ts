import type { Invalidation, InvalidationBus } from './invalidation.js';

/**
 * For the embedded SQLite store: the only other writers are separate
 * processes on the same file (`callfs fsck --repair`, a second server by
 * mistake). SQLite's `PRAGMA data_version` changes whenever another
 * connection commits, so checking it before serving a cache hit is enough to
 * never serve their changes stale; the store makes that check cheap (one read
 * of the WAL index, the pragma only after some connection has committed).
 */
export class ExternalChangeBus implements InvalidationBus {
  private listener: ((message: Invalidation | null) => void) | null = null;
  private seen: number;

  constructor(private readonly dataVersion: () => number) {
    this.seen = dataVersion();
  }

  async publish(): Promise<void> {
    // This process's own changes are dropped from the cache directly; nobody else listens.
  }

  subscribe(listener: (message: Invalidation | null) => void): void {
    this.listener = listener;
  }

  healthy(): boolean {
    return true;
  }

  upToDate(): boolean {
    const current = this.dataVersion();
    if (current !== this.seen) {
      this.seen = current;
      this.listener?.(null);
    }
    return true;
  }

  async close(): Promise<void> {}
}
