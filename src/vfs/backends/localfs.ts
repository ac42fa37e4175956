import { createReadStream, createWriteStream } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { VfsError } from '../errors.js';
import type { ByteRange } from '../types.js';
import type { Backend, BlobInfo, Capacity, PositionalReader, StoredBlob, WriteOptions } from './backend.js';
import { BLOB_KEY_PATTERN, newBlobKey } from './blob-key.js';
import { FlushBehind } from './flush-behind.js';
import { SizeGuard } from './size-guard.js';

const WRITE_BUFFER_BYTES = 2 * 1024 * 1024;
const FLUSH_INTERVAL_BYTES = 16 * 1024 * 1024;

export interface LocalFsOptions {
  /** Called after every 16 MiB of a blob written; the server collects V8's young generation there (src/heap-ceiling.ts). */
  onWriteInterval?: () => void;
}

/**
 * Blobs as files under one root: `<root>/blobs/ab/cd/<key>`. A write goes to
 * `<root>/tmp/` (same filesystem, so the final rename is atomic), is fsynced,
 * renamed into place, and the directory is fsynced before the write resolves.
 */
export class LocalFsBackend implements Backend {
  readonly type = 'localfs';
  readonly nodeLocal = true;
  private readonly blobDir: string;
  private readonly tmpDir: string;
  private ready: Promise<void> | null = null;

  constructor(
    readonly root: string,
    private readonly options: LocalFsOptions = {},
  ) {
    this.blobDir = path.join(root, 'blobs');
    this.tmpDir = path.join(root, 'tmp');
  }

  private init(): Promise<void> {
    this.ready ??= (async () => {
      await fs.mkdir(this.blobDir, { recursive: true, mode: 0o700 });
      await fs.mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
      // Temp files of a crashed process are never committed; clear them at start.
      for (const name of await fs.readdir(this.tmpDir)) await fs.rm(path.join(this.tmpDir, name), { force: true });
    })();
    return this.ready;
  }

  pathOf(key: string): string {
    if (!BLOB_KEY_PATTERN.test(key)) throw new VfsError('INTERNAL', `malformed blob key ${JSON.stringify(key)}`);
    return path.join(this.blobDir, key.slice(0, 2), key.slice(2, 4), key);
  }

  async write(source: Readable, options: WriteOptions = {}): Promise<StoredBlob> {
    await this.init();
    const key = newBlobKey();
    const tmp = path.join(this.tmpDir, key);
    const guard = new SizeGuard(options.expectedSize);
    // Opened before anything can fail, so the cleanup below always finds the file it must remove.
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      // flush: fsync before the stream closes the handle, so the blob is durable when pipeline resolves.
      // The write buffer lets the socket keep delivering while a write is in flight (buffered chunks
      // then go down in one writev), and FlushBehind keeps the disk busy during the upload.
      const out = createWriteStream(tmp, { fd: handle, flush: true, highWaterMark: WRITE_BUFFER_BYTES });
      await pipeline(source, guard, new FlushBehind(handle, FLUSH_INTERVAL_BYTES, this.options.onWriteInterval), out, { signal: options.signal });
      guard.finish();
      const final = this.pathOf(key);
      await fs.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      await fs.rename(tmp, final);
      await fsyncDir(path.dirname(final));
      return { key, size: guard.bytes };
    } catch (err) {
      await handle.close().catch(() => {});
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const handle = await this.open(key);
    // Opening first means a concurrent replace that unlinks the blob cannot cut this read short.
    return createReadStream(this.pathOf(key), { fd: handle, start: range?.start, end: range?.end, highWaterMark: 512 * 1024, autoClose: true });
  }

  async openPositional(key: string): Promise<PositionalReader> {
    const handle = await this.open(key);
    return {
      read: async (into, position) => {
        // FileHandle.read may return fewer bytes than asked before the end: read until full or at the end.
        let filled = 0;
        while (filled < into.length) {
          const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled;
      },
      close: () => handle.close(),
    };
  }

  private open(key: string): Promise<FileHandle> {
    return fs.open(this.pathOf(key), 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new VfsError('NOT_FOUND', `content of this file is missing from the localfs backend (blob ${key})`);
      throw err;
    });
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const st = await fs.stat(this.pathOf(key));
      return { key, size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  async copy(key: string): Promise<StoredBlob> {
    await this.init();
    const source = this.pathOf(key);
    const st = await fs.stat(source);
    const target = newBlobKey();
    const tmp = path.join(this.tmpDir, target);
    try {
      await fs.copyFile(source, tmp, fs.constants.COPYFILE_FICLONE);
      const handle = await fs.open(tmp, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      const final = this.pathOf(target);
      await fs.mkdir(path.dirname(final), { recursive: true, mode: 0o700 });
      await fs.rename(tmp, final);
      await fsyncDir(path.dirname(final));
      return { key: target, size: st.size };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    await this.init();
    for (const a of await readdirSafe(this.blobDir)) {
      for (const b of await readdirSafe(path.join(this.blobDir, a))) {
        for (const key of await readdirSafe(path.join(this.blobDir, a, b))) {
          const st = await fs.stat(path.join(this.blobDir, a, b, key)).catch(() => null);
          if (st?.isFile()) yield { key, size: st.size, mtimeMs: st.mtimeMs };
        }
      }
    }
  }

  async capacity(): Promise<Capacity> {
    // The root is created with the first write; until then its filesystem is its nearest existing ancestor's.
    for (let dir = this.root; ; dir = path.dirname(dir)) {
      try {
        const s = await fs.statfs(dir);
        return { totalBytes: s.blocks * s.bsize, freeBytes: s.bfree * s.bsize, availableBytes: s.bavail * s.bsize };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(dir) === dir) throw err;
      }
    }
  }

  async ping(): Promise<void> {
    await this.init();
    await fs.access(this.blobDir, fs.constants.W_OK);
  }

  async close(): Promise<void> {}
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
