import { Transform, type TransformCallback } from 'node:stream';
import { VfsError } from '../errors.js';

/**
 * Counts bytes flowing into a backend and fails the stream when a declared
 * length is exceeded, or (at `finish`) not reached, so a truncated body is
 * never committed as a complete file.
 */
export class SizeGuard extends Transform {
  bytes = 0;

  constructor(private readonly expected?: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.expected !== undefined && this.bytes > this.expected) {
      done(new VfsError('INVALID_ARGUMENT', `body is longer than the declared ${this.expected} bytes`));
      return;
    }
    done(null, chunk);
  }

  finish(): void {
    if (this.expected !== undefined && this.bytes !== this.expected) {
      throw new VfsError('ABORTED', `body ended after ${this.bytes} of ${this.expected} declared bytes`);
    }
  }
}
