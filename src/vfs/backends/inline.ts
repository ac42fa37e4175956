import { Readable } from 'node:stream';
import { VfsError } from '../errors.js';
import type { MetadataStore } from '../metadata/store.js';
import type { ByteRange } from '../types.js';
import type { Backend, BlobInfo, StoredBlob, WriteOptions } from './backend.js';
import { newInlineBlobKey } from './blob-key.js';

/**
 * Small blobs stored as rows of the metadata store. The VFS writes them in
 * the same transaction as the file's metadata row (see Vfs.writeFile); this
 * backend serves reads, copies, deletes and fsck's listing, and accepts
 * standalone writes of small bodies (a copy or a move into the tree).
 */
export class InlineBackend implements Backend {
  readonly type = 'inline';
  /** Every node sees the same store: the content is reachable from anywhere. */
  readonly nodeLocal = false;

  constructor(
    private readonly store: MetadataStore,
    /** Largest blob kept inline. */
    readonly maxBytes: number,
  ) {}

  async write(source: Readable, options: WriteOptions = {}): Promise<StoredBlob> {
    const data = await readSmall(source, this.maxBytes, options);
    const key = newInlineBlobKey();
    await this.store.putInlineBlob(key, data);
    return { key, size: data.length };
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const data = await this.readWhole(key);
    return Readable.from([range ? data.subarray(range.start, range.end + 1) : data]);
  }

  async readWhole(key: string): Promise<Buffer> {
    const data = await this.store.getInlineBlob(key);
    if (!data) throw new VfsError('NOT_FOUND', `content of this file is missing from the metadata store (inline blob ${key})`);
    return data;
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const data = await this.store.getInlineBlob(key);
    return data ? { key, size: data.length, mtimeMs: 0 } : null;
  }

  async delete(key: string): Promise<void> {
    await this.store.deleteInlineBlob(key);
  }

  async copy(key: string): Promise<StoredBlob> {
    const data = await this.store.getInlineBlob(key);
    if (!data) throw new VfsError('NOT_FOUND', `inline blob ${key} is missing`);
    const target = newInlineBlobKey();
    await this.store.putInlineBlob(target, data);
    return { key: target, size: data.length };
  }

  async *list(): AsyncIterable<BlobInfo> {
    // Inline blobs are written in the transaction that references them, so none is ever
    // "being uploaded": mtime 0 lets fsck treat an unreferenced one as old at once.
    for await (const b of this.store.inlineBlobs()) yield { key: b.key, size: b.size, mtimeMs: 0 };
  }

  async ping(): Promise<void> {
    await this.store.ping();
  }

  async close(): Promise<void> {}
}

/** Reads a body of at most `max` bytes into memory; a declared length must match exactly. */
export async function readSmall(source: Readable, max: number, options: WriteOptions = {}): Promise<Buffer> {
  const limit = Math.min(max, options.expectedSize ?? max);
  const chunks: Buffer[] = [];
  let total = 0;
  options.signal?.throwIfAborted();
  // Iterating the source directly: its errors (a client that went away) reject this loop.
  for await (const chunk of source) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      source.destroy();
      throw options.expectedSize !== undefined && total > options.expectedSize
        ? new VfsError('INVALID_ARGUMENT', `body is longer than the declared ${options.expectedSize} bytes`)
        : new VfsError('TOO_LARGE', `body is larger than the ${max} bytes kept inline`);
    }
    chunks.push(chunk as Buffer);
    options.signal?.throwIfAborted();
  }
  if (options.expectedSize !== undefined && total !== options.expectedSize) {
    throw new VfsError('ABORTED', `body ended after ${total} of ${options.expectedSize} declared bytes`);
  }
  // A buffer of its own, not a slice of Node's shared pool: it may be kept in the content cache.
  const data = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(data, offset);
  return data;
}
