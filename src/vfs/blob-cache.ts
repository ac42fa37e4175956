/**
 * Small blobs kept in memory, least recently used first out. Blobs are
 * immutable and their keys never reused, so an entry can never be stale: no
 * invalidation is needed, on this node or any other.
 */
export class BlobCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    /** Only blobs up to this size are cached. */
    readonly maxItemBytes: number,
  ) {}

  get(backend: string, key: string): Buffer | undefined {
    const id = `${backend}\0${key}`;
    const hit = this.entries.get(id);
    if (hit) {
      this.entries.delete(id);
      this.entries.set(id, hit);
    }
    return hit;
  }

  set(backend: string, key: string, content: Buffer): void {
    if (content.length > this.maxItemBytes || this.maxBytes === 0) return;
    const id = `${backend}\0${key}`;
    if (this.entries.has(id)) return;
    this.entries.set(id, content);
    this.bytes += content.length;
    for (const [oldest, buf] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= buf.length;
    }
  }

  delete(backend: string, key: string): void {
    const id = `${backend}\0${key}`;
    const buf = this.entries.get(id);
    if (buf) {
      this.entries.delete(id);
      this.bytes -= buf.length;
    }
  }
}
