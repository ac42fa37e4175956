import type { ClientRequest, IncomingMessage } from 'node:http';
import { ERRNO, RemoteError, remoteErrorOfAnswer } from './errno.js';

/**
 * A PUT whose body is sent while the file is still being written (chunked, so
 * its length need not be known): a file written front to back through the
 * mount is on its way to the server by the time it is closed, instead of being
 * uploaded from the spool only then.
 *
 * Chunks go out in the order `write` was called. Each `write` resolves once
 * its chunk is handed to the socket, so the caller's buffer is free again and
 * a writer faster than the network waits for it (memory stays one chunk per
 * writer). The server stores nothing until the body ends: `abort` leaves the
 * file on the server as it was.
 */
export class StreamedUpload {
  private tail: Promise<void> = Promise.resolve();
  private failure: RemoteError | null = null;
  private readonly answered: Promise<IncomingMessage>;
  /** Sends whose socket write has not called back: a destroyed socket may never call back, so a failure settles them. */
  private readonly waiting = new Set<(err: RemoteError) => void>();
  private ended = false;

  constructor(
    private readonly req: ClientRequest,
    private readonly label: string,
    idleTimeoutMs: number,
  ) {
    this.answered = new Promise((resolve, reject) => {
      req.on('response', (res) => {
        // Answered before the body ended: the server refused the upload (auth, permissions, space); stop sending.
        if (!this.ended) this.fail(new Error(`the server answered ${res.statusCode} before the upload ended`));
        resolve(res);
      });
      req.on('error', (err) => {
        this.fail(err);
        reject(this.failure);
      });
      req.on('close', () => {
        this.fail(new Error('the connection closed before the server answered'));
        reject(this.failure);
      });
    });
    // Nobody may be waiting on the answer yet (an upload given up before its end).
    this.answered.catch(() => {});
    // A writer that pauses this long loses the upload (the spool still has everything); a server that stops
    // reading cannot hold a write, or the answer, longer than this either.
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no progress for ${idleTimeoutMs} ms`)));
    req.flushHeaders();
  }

  /** True once the request can no longer deliver the file: the caller uploads some other way. */
  get failed(): boolean {
    return this.failure !== null;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    const failure = err instanceof RemoteError ? err : new RemoteError(ERRNO.EIO, `${this.label}: ${(err as Error).message}`);
    this.failure = failure;
    for (const reject of this.waiting) reject(failure);
    this.waiting.clear();
  }

  /** Sends `chunk` (or the bytes a function gives, read when their turn comes) after everything written before. */
  write(chunk: Buffer | (() => Promise<Buffer>)): Promise<void> {
    const sent = this.tail.then(async () => {
      if (this.failure) throw this.failure;
      const bytes = typeof chunk === 'function' ? await chunk() : chunk;
      await this.send(bytes);
    });
    this.tail = sent.catch(() => {});
    return sent;
  }

  private send(bytes: Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (bytes.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.add(reject);
      this.req.write(bytes, (err) => {
        this.waiting.delete(reject);
        if (err) this.fail(err);
        if (this.failure) reject(this.failure);
        else resolve();
      });
    });
  }

  /** Ends the body after what was written, and returns the server's answer (a 2xx; anything else rejects with the mapped error). */
  async finish(): Promise<IncomingMessage> {
    this.ended = true;
    await this.tail;
    if (this.failure) throw this.failure;
    this.req.end();
    const res = await this.answered;
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    throw await remoteErrorOfAnswer(res);
  }

  /** Gives the upload up: the connection is dropped before the body ends, so the server keeps nothing of it. */
  abort(): void {
    if (this.ended && this.req.writableFinished) return;
    this.fail(new Error('upload given up'));
    this.req.destroy();
  }
}
