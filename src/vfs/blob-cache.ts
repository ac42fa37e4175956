import { LRUCache } from 'lru-cache';
import { FrequencySketch } from './frequency-sketch.js';

/** Cache memory is handed out in blocks of this size: an entry takes whole blocks, not necessarily adjacent. */
export const BLOCK_BYTES = 1024;
const BLOCKS_PER_SLAB = 1024;

interface CachedBlob {
  size: number;
  /** Block ids: slab index × BLOCKS_PER_SLAB + block within the slab. */
  blocks: Uint32Array;
}

/**
 * Small blobs kept in memory, least recently used first out. Blobs are
 * immutable and their keys never reused, so an entry can never be stale: no
 * invalidation is needed, on this node or any other.
 *
 * Contents live in a few large slabs, copied in on `set` and out on `get`,
 * rather than as one Buffer each. Buffers held for minutes end up in V8's old
 * generation and, once evicted, stay there as garbage until a full collection:
 * on a workload that cycles through more files than fit (a sync, a crawl, a
 * benchmark's read-back), that garbage grew the heap's outside memory by tens
 * of megabytes and cost a full collection every few thousand requests. The
 * copies a `get` hands out die young, where a collection is cheap, and a copy
 * may be sent on a socket while its blocks are reused.
 *
 * A full cache takes a new blob only if it has been asked for more often lately
 * than the entry it would push out (TinyLFU admission, counted by a
 * FrequencySketch). Plain LRU keeps nothing useful when a client reads a set of
 * files slightly larger than the cache over and over (a sync, a build, a
 * benchmark): each blob is pushed out just before it is read again. With
 * admission, most of such a set stays cached and only the rest misses.
 */
export class BlobCache {
  /** lru-cache: evicting from a plain Map's front slows down as deleted slots pile up there. */
  private readonly entries: LRUCache<string, CachedBlob> | null;
  private readonly slabs: Buffer[] = [];
  private readonly freeBlocks: number[] = [];
  /** Blocks the slabs may hold in all: the budget plus one largest entry, set aside before eviction makes room. */
  private readonly capacityBlocks: number;
  /** lru-cache refuses a larger entry without disposing of it: such a blob must not take blocks at all. */
  private readonly maxEntryBlocks: number;
  private readonly sketch: FrequencySketch;

  constructor(
    maxBytes: number,
    /** Only blobs up to this size are cached. */
    readonly maxItemBytes: number,
  ) {
    const budgetBlocks = Math.floor(maxBytes / BLOCK_BYTES);
    const itemBlocks = Math.max(1, Math.ceil(maxItemBytes / BLOCK_BYTES));
    this.capacityBlocks = budgetBlocks + itemBlocks;
    this.maxEntryBlocks = Math.min(itemBlocks, budgetBlocks);
    this.sketch = new FrequencySketch(Math.max(1, budgetBlocks));
    this.entries = budgetBlocks > 0 && maxItemBytes > 0
      ? new LRUCache<string, CachedBlob>({
          maxSize: budgetBlocks,
          maxEntrySize: this.maxEntryBlocks,
          // An empty blob takes no block but still counts one, as lru-cache needs a positive size.
          sizeCalculation: (blob) => Math.max(1, blob.blocks.length),
          dispose: (blob) => {
            for (const id of blob.blocks) this.freeBlocks.push(id);
          },
        })
      : null;
  }

  get(backend: string, key: string): Buffer | undefined {
    if (!this.entries) return undefined;
    const id = `${backend}\0${key}`;
    this.sketch.increment(id);
    const blob = this.entries.get(id);
    if (!blob) return undefined;
    const out = Buffer.allocUnsafe(blob.size);
    for (let i = 0; i < blob.blocks.length; i++) {
      const id = blob.blocks[i]!;
      const start = (id % BLOCKS_PER_SLAB) * BLOCK_BYTES;
      const length = Math.min(BLOCK_BYTES, blob.size - i * BLOCK_BYTES);
      this.slabs[Math.floor(id / BLOCKS_PER_SLAB)]!.copy(out, i * BLOCK_BYTES, start, start + length);
    }
    return out;
  }

  set(backend: string, key: string, content: Buffer): void {
    const id = `${backend}\0${key}`;
    const count = Math.ceil(content.length / BLOCK_BYTES);
    if (!this.entries || content.length > this.maxItemBytes || Math.max(1, count) > this.maxEntryBlocks || this.entries.has(id)) return;
    if (!this.admits(id, Math.max(1, count))) return;
    const blocks = this.takeBlocks(count);
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!;
      const start = (block % BLOCKS_PER_SLAB) * BLOCK_BYTES;
      content.copy(this.slabs[Math.floor(block / BLOCKS_PER_SLAB)]!, start, i * BLOCK_BYTES, Math.min(content.length, (i + 1) * BLOCK_BYTES));
    }
    // Over budget, lru-cache evicts the least recently used entries, whose blocks return to the free list.
    this.entries.set(id, { size: content.length, blocks });
  }

  delete(backend: string, key: string): void {
    this.entries?.delete(`${backend}\0${key}`);
  }

  /** Bytes of slab memory allocated so far (they are kept for reuse). */
  get slabBytes(): number {
    return this.slabs.reduce((sum, slab) => sum + slab.length, 0);
  }

  /** Room to spare, or asked for more often lately than the least recently used entry it would push out. */
  private admits(id: string, size: number): boolean {
    const entries = this.entries!;
    if (entries.calculatedSize + size <= entries.maxSize) return true;
    const victim = entries.rkeys().next();
    return victim.done === true || this.sketch.frequency(id) > this.sketch.frequency(victim.value);
  }

  private takeBlocks(count: number): Uint32Array {
    while (this.freeBlocks.length < count) this.addSlab();
    const blocks = new Uint32Array(count);
    for (let i = 0; i < count; i++) blocks[i] = this.freeBlocks.pop()!;
    return blocks;
  }

  private addSlab(): void {
    const index = this.slabs.length;
    const blocks = Math.min(BLOCKS_PER_SLAB, this.capacityBlocks - index * BLOCKS_PER_SLAB);
    // The budget's eviction keeps at least one largest entry's blocks free; running out means that accounting broke.
    if (blocks <= 0) throw new Error('content cache: no free block within its capacity');
    this.slabs.push(Buffer.allocUnsafeSlow(blocks * BLOCK_BYTES));
    // Pushed in reverse so that pop() hands out a slab's blocks in order.
    for (let b = blocks - 1; b >= 0; b--) this.freeBlocks.push(index * BLOCKS_PER_SLAB + b);
  }
}
