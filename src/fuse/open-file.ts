import { createWriteStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { ReadAhead } from './read-ahead.js';
import type { AttributePatch, RemoteEntry, RestClient, UploadAttributes } from './rest-client.js';
import type { StreamedUpload } from './streamed-upload.js';

let spoolCounter = 0;
/** Spools up to this size are uploaded from memory. */
const SMALL_UPLOAD_BYTES = 1024 * 1024;
/**
 * A file written front to back starts uploading while it is written once it is this large. Smaller
 * files go up in one request on close, with the mtime and mode set meanwhile (tar's futimens, fchmod)
 * in its headers; a streamed upload would need a second request for those.
 */
const STREAM_AFTER_BYTES = SMALL_UPLOAD_BYTES;

interface Streaming {
  upload: StreamedUpload;
  /** Bytes handed to the upload so far: the next write must start here to follow them. */
  sent: number;
  /** What its headers set. */
  attrs: UploadAttributes;
}

/**
 * One remote file opened through the mount, shared by all handles open on it,
 * so that a read through one handle sees a write through another.
 *
 * Writes go to a local spool file (write-back); `flush` uploads it with one
 * streamed PUT. Until the first write the file is read from the server through
 * a read-ahead window; after it, from the spool. Memory does not depend on the
 * file size either way.
 *
 * A file written from empty, front to back (cp, dd, a download), is also sent
 * to the server as it is written, by a PUT that `flush` ends; the spool is then
 * only the fallback. A write anywhere else, a truncate, or a failed request
 * gives that upload up (the server keeps nothing of it), and `flush` uploads
 * the spool as before.
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
  /** Where the next write must start for the content to be still one run of appends to an empty file; null once it is not. */
  private appendedUpTo: number | null = null;
  private streaming: Streaming | null = null;
  private writesInFlight = 0;
  private flushing = false;

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
    this.giveUpStreaming();
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
      this.appendedUpTo = filled ? null : 0;
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
    const chunk = data.subarray(0, length);
    const appending = this.appendedUpTo === offset;
    this.appendedUpTo = appending ? offset + length : null;
    // Sent as it is written when it follows what the upload has; any other write ends the upload's use.
    let sending: Promise<void> | null = null;
    if (this.streaming && appending && this.streaming.sent === offset) {
      const { upload } = this.streaming;
      this.streaming.sent += length;
      sending = upload.write(chunk).catch(() => this.giveUpStreaming(upload));
    } else if (this.streaming) {
      this.giveUpStreaming();
    }
    this.writesInFlight++;
    let bytesWritten: number;
    try {
      // The kernel's buffer is ours until we answer: both the spool and the socket are done with it before that.
      [{ bytesWritten }] = await Promise.all([handle.write(chunk, 0, length, offset), sending]);
    } finally {
      this.writesInFlight--;
    }
    if (bytesWritten !== length) {
      // The kernel sends the rest again; the upload has it already, and would have it twice.
      this.appendedUpTo = null;
      this.giveUpStreaming();
    }
    this.size = Math.max(this.size, offset + bytesWritten);
    this.markWritten();
    this.startStreamingIfDue();
    return bytesWritten;
  }

  /**
   * Once the file is large enough and still one run of appends, its upload starts: with the spool's
   * content so far, then each write as it comes. Not while writes are still reaching the spool (the
   * spool would be read before they land), nor while a flush runs.
   */
  private startStreamingIfDue(): void {
    if (this.streaming || this.detached || this.flushing || this.writesInFlight > 0) return;
    // Past the second mebibyte it is not started any more (no connection was free earlier): its head would be read into memory.
    if (this.appendedUpTo === null || this.appendedUpTo !== this.size || this.size < STREAM_AFTER_BYTES || this.size > 2 * STREAM_AFTER_BYTES || !this.spool) return;
    const attrs: UploadAttributes = { mode: this.createMode ?? undefined, ...this.createOwner };
    const upload = this.client.startUpload(this.path, attrs);
    if (!upload) return;
    const { handle } = this.spool;
    const head = this.size;
    this.streaming = { upload, sent: head, attrs };
    upload
      .write(async () => {
        const bytes = Buffer.allocUnsafe(head);
        const { bytesRead } = await handle.read(bytes, 0, head, 0);
        if (bytesRead !== head) throw new Error('the spool is shorter than what was written to it');
        return bytes;
      })
      .catch(() => this.giveUpStreaming(upload));
  }

  /** Drops the upload that was sent while writing (the server keeps nothing of it); `flush` uploads the spool instead. */
  private giveUpStreaming(which?: StreamedUpload): void {
    if (!this.streaming || (which && this.streaming.upload !== which)) return;
    this.streaming.upload.abort();
    this.streaming = null;
    // Not started again for this content: what failed once (a server gone, a refusal) would fail again.
    this.appendedUpTo = null;
  }

  truncate(size: number): Promise<void> {
    return this.exclusive(async () => {
      this.giveUpStreaming();
      const handle = await this.ensureSpool(size);
      await handle.truncate(size);
      this.size = size;
      // Emptied: what is written next is a run of appends to an empty file again.
      this.appendedUpTo = size === 0 ? 0 : null;
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
      // Whatever happens, the content is no longer one run of appends that nothing was uploaded of.
      const streaming = this.streaming;
      this.streaming = null;
      this.appendedUpTo = null;
      if (!this.dirty || this.detached) {
        streaming?.upload.abort();
        return null;
      }
      // Cleared first: a write racing with the upload marks the file dirty again.
      this.dirty = false;
      this.flushing = true;
      let stored: RemoteEntry | null = null;
      try {
        if (streaming) stored = await this.finishStreaming(streaming, owner);
        if (!stored) {
          const content = await this.uploadSource();
          stored = await this.client.upload(this.path, content, { mtimeMs: this.pendingMtimeMs, mode: this.createMode ?? undefined, ...this.createOwner, ...owner });
        }
      } catch (err) {
        this.dirty = true;
        throw err;
      } finally {
        this.flushing = false;
      }
      this.createMode = null;
      this.createOwner = {};
      this.pendingMtimeMs = undefined;
      this.reader.reset();
      return stored;
    });
  }

  /**
   * Ends the upload sent while writing, if it holds the whole file, and sets what its headers could
   * not (an mtime or mode given after it started) with one PATCH. Null when it cannot deliver the
   * file: the caller uploads the spool.
   */
  private async finishStreaming(streaming: Streaming, owner: { uid?: number; gid?: number } | undefined): Promise<RemoteEntry | null> {
    // An owner given with the flush (a chown by a mount not acting as root) must be refused with
    // nothing created, which only an upload carrying it does.
    if (streaming.sent !== this.size || owner || streaming.upload.failed) {
      streaming.upload.abort();
      return null;
    }
    let stored: RemoteEntry;
    try {
      stored = await this.client.storedBy(streaming.upload);
    } catch {
      // Whatever went wrong (a dropped connection, a refusal), the upload from the spool either
      // succeeds or reports the error with its cause.
      return null;
    }
    const late: AttributePatch = {};
    if (this.pendingMtimeMs !== undefined) late.mtime = new Date(this.pendingMtimeMs).toISOString();
    if (this.createMode !== null && this.createMode !== streaming.attrs.mode) late.mode = this.createMode;
    if (this.createOwner.uid !== undefined && this.createOwner.uid !== streaming.attrs.uid) late.uid = this.createOwner.uid;
    if (this.createOwner.gid !== undefined && this.createOwner.gid !== streaming.attrs.gid) late.gid = this.createOwner.gid;
    if (Object.keys(late).length === 0) return stored;
    // The content is on the server now; should this fail, the flush fails and the next one uploads it all again with them.
    return this.client.patch(this.path, late);
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
    this.giveUpStreaming();
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
