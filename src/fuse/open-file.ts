import { createWriteStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ReadAhead } from './read-ahead.js';
import type { RemoteEntry, RestClient } from './rest-client.js';

let spoolCounter = 0;
/** Spools up to this size are uploaded from memory. */
const SMALL_UPLOAD_BYTES = 1024 * 1024;

/**
 * One remote file opened through the mount, shared by all handles open on it,
 * so that a read through one handle sees a write through another.
 *
 * Writes go to a local spool file (write-back); `flush` uploads it with one
 * streamed PUT. Until the first write the file is read from the server through
 * a read-ahead window; after it, from the spool. Memory does not depend on the
 * file size either way.
 */
export class OpenFile {
  refs = 0;
  private spool: { handle: FileHandle; file: string } | null = null;
  private spooling: Promise<FileHandle> | null = null;
  private size: number;
  private dirty = false;
  /** An mtime set (utimens) while unflushed writes were pending: it goes with the upload. */
  private pendingMtimeMs: number | undefined;
  private lastWriteMs = 0;
  private serial: Promise<unknown> = Promise.resolve();
  readonly reader: ReadAhead;
  /**
   * Set for a file created through the mount and not uploaded yet: the create
   * costs no request of its own, the first upload (flush on close) creates it
   * with this mode. One PUT per new file instead of two.
   */
  private createMode: number | null = null;
  /** The owner a chown gave it before its upload (by a mount acting as root, which the server never refuses). */
  private createOwner: { uid?: number; gid?: number } = {};
  /** Replaced by a rename onto its path: its pending writes belong to no name any more. */
  private detached = false;

  constructor(
    public path: string,
    remoteSize: number,
    private readonly client: RestClient,
    private readonly spoolDir: string,
    options: { createMode?: number } = {},
  ) {
    this.size = remoteSize;
    this.reader = new ReadAhead((start, length) => this.client.readRange(this.path, start, length));
    if (options.createMode !== undefined) {
      this.createMode = options.createMode;
      this.markWritten();
    }
  }

  /** The mode of a file that exists only here so far (created, not yet uploaded), or null. */
  get pendingCreateMode(): number | null {
    return this.createMode;
  }

  /** chmod of a file not uploaded yet: it is created with this mode, no request of its own. False when it is on the server already. */
  deferMode(mode: number): boolean {
    if (this.createMode === null) return false;
    this.createMode = mode;
    return true;
  }

  /** The owner given to a file that exists only here so far. */
  get pendingCreateOwner(): { uid?: number; gid?: number } {
    return this.createOwner;
  }

  /** chown of a file not uploaded yet: it is created with this owner, no request of its own. False when it is on the server already. */
  deferOwner(owner: { uid?: number; gid?: number }): boolean {
    if (this.createMode === null) return false;
    this.createOwner = { ...this.createOwner, ...owner };
    return true;
  }

  /** Runs mutations one at a time (materialising the spool, truncating, uploading). */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.serial.then(task, task);
    this.serial = run.catch(() => {});
    return run;
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** Another file was renamed over this one while it was open: never upload it again. */
  detach(): void {
    this.detached = true;
  }

  /** Size and mtime the kernel must see while local changes are not uploaded yet; after the upload the server's are right. */
  localAttributes(): { size: number; mtimeMs: number } | null {
    if (!this.dirty) return null;
    return { size: this.size, mtimeMs: this.pendingMtimeMs ?? this.lastWriteMs };
  }

  /** The spool file, filled with the remote content first unless the caller is about to empty it. */
  private ensureSpool(willTruncateTo?: number): Promise<FileHandle> {
    if (this.spool) return Promise.resolve(this.spool.handle);
    if (this.createMode !== null) willTruncateTo = 0;
    this.spooling ??= (async () => {
      const file = path.join(this.spoolDir, `${process.pid}-${++spoolCounter}`);
      const filled = this.size > 0 && willTruncateTo !== 0;
      if (filled) await this.client.download(this.path, createWriteStream(file, { mode: 0o600 }));
      const handle = await open(file, filled ? 'r+' : 'w+', 0o600);
      // An empty spool (a new file, or one about to be emptied) needs no stat: one request to the thread pool less per file.
      this.size = filled ? (await handle.stat()).size : 0;
      this.spool = { handle, file };
      return handle;
    })();
    this.spooling.catch(() => {
      this.spooling = null;
    });
    return this.spooling;
  }

  async read(target: Buffer, length: number, offset: number): Promise<number> {
    if (!this.spool && this.createMode !== null) return 0;
    if (!this.spool) return this.reader.read(target, length, offset);
    const { bytesRead } = await this.spool.handle.read(target, 0, length, offset);
    return bytesRead;
  }

  async write(data: Buffer, length: number, offset: number): Promise<number> {
    const handle = this.spool?.handle ?? (await this.exclusive(() => this.ensureSpool()));
    const { bytesWritten } = await handle.write(data, 0, length, offset);
    this.size = Math.max(this.size, offset + bytesWritten);
    this.markWritten();
    return bytesWritten;
  }

  truncate(size: number): Promise<void> {
    return this.exclusive(async () => {
      const handle = await this.ensureSpool(size);
      await handle.truncate(size);
      this.size = size;
      this.markWritten();
    });
  }

  private markWritten(): void {
    this.dirty = true;
    this.lastWriteMs = Date.now();
    // A write after a utimens makes the file "modified now" again, as on a local disk.
    this.pendingMtimeMs = undefined;
  }

  /** Records an mtime while writes are unflushed; returns false when there is nothing pending (set it on the server directly). */
  deferMtime(mtimeMs: number): boolean {
    if (!this.dirty) return false;
    this.pendingMtimeMs = mtimeMs;
    return true;
  }

  /**
   * Uploads pending writes (one streamed PUT, with the mtime set meanwhile, and `owner` if given);
   * the file as stored, or null when nothing was pending.
   */
  flush(owner?: { uid?: number; gid?: number }): Promise<RemoteEntry | null> {
    return this.exclusive(async () => {
      if (!this.dirty || this.detached) return null;
      // Cleared first: a write racing with the upload marks the file dirty again.
      this.dirty = false;
      let stored: RemoteEntry;
      try {
        const content = await this.uploadSource();
        stored = await this.client.upload(this.path, content, { mtimeMs: this.pendingMtimeMs, mode: this.createMode ?? undefined, ...this.createOwner, ...owner });
      } catch (err) {
        this.dirty = true;
        throw err;
      }
      this.createMode = null;
      this.createOwner = {};
      this.pendingMtimeMs = undefined;
      this.reader.reset();
      return stored;
    });
  }

  /**
   * What an upload sends: a small spool is read whole through its open handle (one read, where a
   * stream by path would open, read and close it again); a large one is streamed from its file.
   */
  private async uploadSource(): Promise<{ file: string; size: number } | Buffer> {
    if (!this.spool || this.size === 0) return Buffer.alloc(0);
    if (this.size > SMALL_UPLOAD_BYTES) return { file: this.spool.file, size: this.size };
    const content = Buffer.allocUnsafe(this.size);
    const { bytesRead } = await this.spool.handle.read(content, 0, this.size, 0);
    return content.subarray(0, bytesRead);
  }

  /**
   * Drops the spool; called when the last handle is released (after a flush).
   * Content that could not be uploaded is not thrown away: the spool file stays
   * and its path is returned.
   */
  async dispose(): Promise<string | null> {
    const spool = this.spool;
    this.spool = null;
    this.spooling = null;
    if (!spool) return null;
    await spool.handle.close().catch(() => {});
    if (this.dirty && !this.detached) return spool.file;
    await rm(spool.file, { force: true });
    return null;
  }
}
