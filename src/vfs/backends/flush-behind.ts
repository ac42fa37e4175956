import { Transform, type TransformCallback } from 'node:stream';
import type { FileHandle } from 'node:fs/promises';

/**
 * Passes a file's bytes through and, every `interval` bytes, starts an
 * fdatasync of what was written so far without waiting for it. The disk then
 * writes while the network still delivers, and the fsync that makes the file
 * durable at the end has only the tail left to write; without this, a large
 * upload sits in the page cache until that final fsync and the two phases add
 * up instead of overlapping. At most one sync runs at a time; a failed one
 * fails the stream. `onInterval`, if given, is called every `interval` bytes too.
 */
export class FlushBehind extends Transform {
  private sinceSync = 0;
  private sinceCall = 0;
  private syncing: Promise<void> | null = null;
  private failure: Error | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly interval: number,
    private readonly onInterval?: () => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.failure) return done(this.failure);
    this.sinceSync += chunk.length;
    if (this.onInterval && (this.sinceCall += chunk.length) >= this.interval) {
      this.sinceCall = 0;
      this.onInterval();
    }
    if (this.sinceSync >= this.interval && !this.syncing) {
      this.sinceSync = 0;
      this.syncing = this.handle.datasync().then(
        () => void (this.syncing = null),
        (err: Error) => {
          this.failure = err;
          this.syncing = null;
        },
      );
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const settle = () => done(this.failure);
    if (this.syncing) this.syncing.then(settle, settle);
    else settle();
  }
}
