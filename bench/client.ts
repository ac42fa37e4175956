import http from 'node:http';

/** One keep-alive agent per target, as a real client would use. */
export function agentFor(maxSockets: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

export interface Target {
  base: string;
  headers: Record<string, string>;
}

export interface Response {
  status: number;
  body: Buffer;
}

// MKCOL is not idempotent in HTTP's sense, but the bench takes 405 (already there) as success, so resending it is safe here.
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'OPTIONS', 'MKCOL']);

/**
 * A request with a small body; the response is collected. A server may close an
 * idle keep-alive connection just as it is reused, or drop a connection before
 * answering (Apache does both under load); like any HTTP client, an idempotent
 * request is then sent again, up to twice, on a connection of its own: the pool's
 * other idle connections may be going away too (an Apache child that exits closes
 * all of its connections at once).
 */
export async function request(agent: http.Agent, target: Target, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestOnce(attempt === 0 ? agent : undefined, target, method, path, body, headers);
    } catch (err) {
      const reused = (err as { reusedSocket?: boolean }).reusedSocket;
      const dropped = (err as NodeJS.ErrnoException).code === 'ECONNRESET' && IDEMPOTENT.has(method);
      if (attempt >= 2 || !(reused || dropped)) throw Object.assign(err as Error, { message: `${method} ${path} (attempt ${attempt + 1}): ${(err as Error).message}` });
    }
  }
}

/** `agent` undefined: a connection of its own, closed after the response. */
function requestOnce(agent: http.Agent | undefined, target: Target, method: string, path: string, body: Buffer | undefined, headers: Record<string, string>): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request(target.base + path, { method, agent: agent ?? false, headers: { ...target.headers, ...headers, 'content-length': String(body?.length ?? 0) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
    req.end(body);
  });
}

/** Runs `total` calls of `task` with `concurrency` in flight; returns calls per second. */
export async function runConcurrent(total: number, concurrency: number, task: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await task(next++);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}
