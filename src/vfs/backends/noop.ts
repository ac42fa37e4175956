import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ByteRange } from '../types.js';
import type { Backend, BlobInfo, StoredBlob, WriteOptions } from './backend.js';
import { newBlobKey } from './blob-key.js';
import { SizeGuard } from './size-guard.js';

/**
 * Discards content and reads back zero bytes of the recorded length, so that
 * benchmarks measure everything but storage. Never use it for real data.
 */
export class NoopBackend implements Backend {
  readonly type = 'noop';
  readonly nodeLocal = false;
  private readonly sizes = new Map<string, number>();

  async write(source: Readable, options: WriteOptions = {}): Promise<StoredBlob> {
    const guard = new SizeGuard(options.expectedSize);
    await pipeline(source, guard, new Writable({ write: (_c, _e, cb) => cb() }), { signal: options.signal });
    guard.finish();
    const key = newBlobKey();
    this.sizes.set(key, guard.bytes);
    return { key, size: guard.bytes };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const size = this.sizes.get(key) ?? 0;
    let remaining = range ? range.end - range.start + 1 : size;
    const chunk = Buffer.alloc(64 * 1024);
    return new Readable({
      read() {
        if (remaining <= 0) return void this.push(null);
        const n = Math.min(remaining, chunk.length);
        remaining -= n;
        this.push(chunk.subarray(0, n));
      },
    });
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const size = this.sizes.get(key);
    return size === undefined ? null : { key, size, mtimeMs: 0 };
  }

  async delete(key: string): Promise<void> {
    this.sizes.delete(key);
  }

  async copy(key: string): Promise<StoredBlob> {
    const target = newBlobKey();
    const size = this.sizes.get(key) ?? 0;
    this.sizes.set(target, size);
    return { key: target, size };
  }

  async *list(): AsyncIterable<BlobInfo> {
    for (const [key, size] of this.sizes) yield { key, size, mtimeMs: 0 };
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
