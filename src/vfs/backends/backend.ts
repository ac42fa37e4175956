import type { Readable } from 'node:stream';
import type { ByteRange } from '../types.js';

export interface StoredBlob {
  key: string;
  size: number;
}

export interface BlobInfo {
  key: string;
  size: number;
  /** Last modification of the blob itself, for the orphan grace period of fsck. */
  mtimeMs: number;
}

export interface WriteOptions {
  /** Aborts the write; the backend removes whatever it had stored. */
  signal?: AbortSignal;
  /** Declared length, when the client sent one; a body of another length fails the write. */
  expectedSize?: number;
}

/** Size and free space of the filesystem a backend's blobs live on. */
export interface Capacity {
  totalBytes: number;
  freeBytes: number;
  /** Free space an unprivileged process may use (the filesystem may reserve some for root). */
  availableBytes: number;
}

/** An open blob, read at explicit offsets. */
export interface PositionalReader {
  /** Fills `into` from `position` on; returns the bytes read, fewer only at the end of the blob. */
  read(into: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * Content storage addressed by immutable blob keys. A blob is never modified
 * after `write` resolves; a new version of a file is a new blob. `write`
 * resolves only once the blob is durable, and leaves nothing behind when it
 * rejects.
 */
export interface Backend {
  /** The kind, as used in metrics labels and conflict bodies: localfs, s3, noop, internalproxy. */
  readonly type: string;
  /** Whether blobs live on this node only (other nodes reach them through internalproxy). */
  readonly nodeLocal: boolean;
  write(source: Readable, options?: WriteOptions): Promise<StoredBlob>;
  /** Streams the blob, or the inclusive byte range of it. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * The blob opened for reads at any offset into the caller's buffers, offered by backends
   * with files on this node (localfs): a large GET then reuses two buffers instead of
   * allocating one per chunk.
   */
  openPositional?(key: string): Promise<PositionalReader>;
  /** The whole blob as one Buffer, offered by backends whose blobs are small rows (inline): no stream to set up. */
  readWhole?(key: string): Promise<Buffer>;
  /** Size and free space of where the blobs are stored, offered by backends on a disk of this node (localfs); S3 has no such size. */
  capacity?(): Promise<Capacity>;
  /** Size of a blob, or null when it does not exist. */
  stat(key: string): Promise<BlobInfo | null>;
  /** Deletes a blob; deleting a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** A new blob with the same content. */
  copy(key: string): Promise<StoredBlob>;
  /** Every blob the backend holds, for fsck. */
  list(): AsyncIterable<BlobInfo>;
  /** Throws when the backend cannot serve requests (for /health). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
