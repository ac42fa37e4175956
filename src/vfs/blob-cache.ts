import { LRUCache } from 'lru-cache';

/**
 * Small blobs kept in memory, least recently used first out. Blobs are
 * immutable and their keys never reused, so an entry can never be stale: no
 * invalidation is needed, on this node or any other.
 */
export class BlobCache {
  /** lru-cache: evicting from a plain Map's front slows down as deleted slots pile up there. */
  private readonly entries: LRUCache<string, Buffer> | null;

  constructor(
    maxBytes: number,
    /** Only blobs up to this size are cached. */
    readonly maxItemBytes: number,
  ) {
    this.entries = maxBytes > 0 && maxItemBytes > 0
      ? new LRUCache<string, Buffer>({ maxSize: maxBytes, maxEntrySize: Math.min(maxItemBytes, maxBytes), sizeCalculation: (content) => Math.max(1, content.length) })
      : null;
  }

  get(backend: string, key: string): Buffer | undefined {
    return this.entries?.get(`${backend}\0${key}`);
  }

  set(backend: string, key: string, content: Buffer): void {
    // lru-cache refuses an entry over maxEntrySize itself.
    const id = `${backend}\0${key}`;
    if (this.entries && !this.entries.has(id)) this.entries.set(id, content);
  }

  delete(backend: string, key: string): void {
    this.entries?.delete(`${backend}\0${key}`);
  }
}
