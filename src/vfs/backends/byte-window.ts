import { Readable } from 'node:stream';

/**
 * The bytes [skip, skip + length) of a stream. For servers that answer a Range
 * request with more than was asked (HTTP lets a server ignore Range; s3rver
 * reads `bytes=0-0` as "to the end"): the surplus is dropped and the upstream
 * is destroyed as soon as the window is complete, so nothing more is fetched.
 */
export function byteWindow(source: Readable, skip: number, length: number): Readable {
  let toSkip = skip;
  let left = length;
  const iterator = source[Symbol.asyncIterator]();
  const out = new Readable({
    async read() {
      try {
        while (left > 0) {
          const { value, done } = await iterator.next();
          if (done) {
            this.destroy(new Error(`the object ended ${left} bytes short of the requested range`));
            return;
          }
          let chunk = value as Buffer;
          if (toSkip > 0) {
            const n = Math.min(toSkip, chunk.length);
            toSkip -= n;
            chunk = chunk.subarray(n);
          }
          if (chunk.length === 0) continue;
          const piece = chunk.subarray(0, left);
          left -= piece.length;
          if (left === 0) {
            this.push(piece);
            this.push(null);
            source.destroy();
            return;
          }
          if (!this.push(piece)) return;
        }
        this.push(null);
      } catch (err) {
        this.destroy(err as Error);
      }
    },
    destroy(err, done) {
      source.destroy();
      done(err);
    },
  });
  return out;
}

/** Start offset of a Content-Range answer (`bytes a-b/total`), or 0 when the whole object came. */
export function contentRangeStart(contentRange: string | undefined): number {
  const m = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
  return m ? Number(m[1]) : 0;
}
