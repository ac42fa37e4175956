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

/**
 * Reads a body of at most `max` bytes into memory; a declared length must match exactly.
 * Listens to the stream's events rather than iterating it: an async iterator per body
 * showed among the largest costs of a small PUT.
 */
export function readSmall(source: Readable, max: number, options: WriteOptions = {}): Promise<Buffer> {
  const { signal, expectedSize } = options;
  const limit = Math.min(max, expectedSize ?? max);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (err: unknown, data?: Buffer) => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', finish);
      source.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(data!);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) return void chunks.push(chunk);
      finish(
        expectedSize !== undefined && total > expectedSize
          ? new VfsError('INVALID_ARGUMENT', `body is longer than the declared ${expectedSize} bytes`)
          : new VfsError('TOO_LARGE', `body is larger than the ${max} bytes kept inline`),
      );
      source.destroy();
    };
    const onEnd = () => {
      if (expectedSize !== undefined && total !== expectedSize) return finish(new VfsError('ABORTED', `body ended after ${total} of ${expectedSize} declared bytes`));
      // A buffer of its own, not a slice of Node's shared pool: it may be kept in the content cache.
      const data = Buffer.allocUnsafeSlow(total);
      let offset = 0;
      for (const chunk of chunks) offset += chunk.copy(data, offset);
      finish(null, data);
    };
    // Closed without an end or an error of its own: the client went away.
    const onClose = () => finish(new VfsError('ABORTED', `body ended after ${total} bytes: the connection closed`));
    const onAbort = () => {
      finish(signal!.reason);
      source.destroy();
    };
    if (signal?.aborted) return reject(signal.reason);
    if (source.readableEnded) return onEnd();
    if (source.destroyed) return onClose();
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', finish);
    source.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
