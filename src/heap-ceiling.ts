import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface HeapCeilingOptions {
  /** No collection is forced while the heap holds less than this. */
  floorBytes: number;
  /** The next ceiling is what survived a collection times this. */
  growth: number;
  /**
   * Above this much live heap the ceiling steps aside: a forced collection stops
   * the process for as long as marking takes, and V8's own incremental marking
   * suits large heaps better.
   */
  largestManagedBytes: number;
}

export interface Collection {
  beforeBytes: number;
  afterBytes: number;
  ms: number;
}

/**
 * Fits the server (a live heap of 30–40 MB, where a forced collection stops it for 20–30 ms)
 * and the mount. A forced collection of 60 MB live took about 70 ms here, of 120 MB about
 * 125 ms: past 64 MB, V8's incremental marking is the better deal.
 */
export const DEFAULT_HEAP_CEILING: HeapCeilingOptions = { floorBytes: 48 * 1024 * 1024, growth: 1.5, largestManagedBytes: 64 * 1024 * 1024 };

/**
 * A soft ceiling on the JavaScript heap: when the heap holds more than the
 * ceiling, a full collection is forced, and the next ceiling is set from what
 * survived it.
 *
 * Why: with Node's defaults, V8 lets the old generation of a busy server grow to
 * about four times what is live before it collects (a 35 MB live heap reached
 * 110 MB in the benchmark, peak RSS 230–250 MB). V8's knobs that keep the heap
 * tight (--optimize-for-size, a low --heap-growing-percent, --max-old-space-size) also
 * count the Buffers of a large transfer against that tight limit, and so ran a
 * full collection for every ~20 MiB moved: a 256 MiB GET then cost three times
 * the CPU, at half the throughput. This ceiling looks at the heap alone, so
 * transfers never trigger it.
 */
export class HeapCeiling {
  private ceiling: number;
  private stepAside = false;
  private readonly collect = exposedGc();

  constructor(private readonly options: HeapCeilingOptions) {
    this.ceiling = options.floorBytes;
  }

  /** Forces a collection if the heap is over its ceiling; returns what it did, or null. */
  check(): Collection | null {
    if (this.stepAside) return null;
    const beforeBytes = getHeapStatistics().used_heap_size;
    if (beforeBytes <= this.ceiling) return null;
    const started = performance.now();
    this.collect();
    const afterBytes = getHeapStatistics().used_heap_size;
    this.ceiling = Math.max(this.options.floorBytes, afterBytes * this.options.growth);
    this.stepAside = afterBytes > this.options.largestManagedBytes;
    return { beforeBytes, afterBytes, ms: performance.now() - started };
  }

  /** Checks every `intervalMs` until the returned function is called; the timer does not keep the process alive. */
  start(intervalMs: number, onCollect: (collection: Collection) => void): () => void {
    const timer = setInterval(() => {
      const collection = this.check();
      if (collection) onCollect(collection);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * A scavenge of V8's young generation, for transfers to call every so many MiB of Buffers.
 *
 * Why: every chunk of a request body arrives in a fresh Buffer (Node's HTTP parser copies
 * it), and V8 collects those only when they add up to 32 MB, whatever --max-semi-space-size
 * says (its trigger is twice its default semi-space). An upload then held 32–34 MB more at
 * its peak than when it began. Collected every 16 MiB, 18–20 MB; the server's CPU per GiB rose
 * by 3–5% (30 more scavenges of about 1 ms each), within the noise of the upload's speed.
 */
export function collectYoungGeneration(): void {
  (minorGc ??= exposedGc() as (options: { type: 'minor' }) => void)({ type: 'minor' });
}

let minorGc: ((options: { type: 'minor' }) => void) | null = null;

const FRESH_BYTES_PER_COLLECTION = 16 * 1024 * 1024;
let freshSinceCollection = 0;

/**
 * For the Buffers a response body is read into (a stream reads each chunk into a new one; a
 * large read allocates its two): counts their bytes over all requests and collects the young
 * generation every 16 MiB, for the reason given above. The mount reads a file as ranged
 * GETs of 4 MiB, each with Buffers of its own; reading 1 GiB through it raised the server's
 * peak RSS by 15 MB.
 */
export function noteFreshBuffers(bytes: number): void {
  freshSinceCollection += bytes;
  if (freshSinceCollection < FRESH_BYTES_PER_COLLECTION) return;
  freshSinceCollection = 0;
  collectYoungGeneration();
}

/**
 * V8's gc() without --expose-gc on the command line (so `node dist/cli.js` gets
 * it too), and without putting it on this context's global object: a context
 * made after the flag is set has it.
 */
function exposedGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
