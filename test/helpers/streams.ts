import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';

/** `size` random bytes generated as they are read, hashed on the way: nothing is held in memory. */
export function randomBody(size: number, chunk = 256 * 1024): { stream: Readable; sha256: () => string } {
  const hash = createHash('sha256');
  let left = size;
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(chunk, left);
      left -= n;
      const bytes = randomBytes(n);
      hash.update(bytes);
      this.push(bytes);
    },
  });
  let digest: string | null = null;
  return { stream, sha256: () => (digest ??= hash.digest('hex')) };
}

export interface StreamedResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  sha256: string;
  /** The first 64 KiB of the body, for error messages and small checks. */
  head: Buffer;
}

/** Sends a request with a streamed body (or none) and hashes the answer as it arrives. */
export function streamRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: Readable },
): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method, headers: init.headers }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      const head: Buffer[] = [];
      let headLen = 0;
      res.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
        if (headLen < 65536) {
          head.push(c.subarray(0, 65536 - headLen));
          headLen += Math.min(c.length, 65536 - headLen);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes, sha256: hash.digest('hex'), head: Buffer.concat(head) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (init.body) init.body.pipe(req);
    else req.end();
  });
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a PUT that declares (or streams) a body, sends `sent` bytes, then
 * destroys the connection, like a client that dies mid-upload. Resolves once
 * the socket is gone.
 */
export function cutOffUpload(url: string, headers: Record<string, string>, sent: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: 'PUT', headers });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    const { stream } = randomBody(sent);
    stream.on('data', (c: Buffer) => {
      if (!req.write(c)) {
        stream.pause();
        req.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => {
      // Once the bytes are handed to the kernel, vanish without finishing the body.
      req.write(Buffer.alloc(0), () => req.destroy());
    });
  });
}
