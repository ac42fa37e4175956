import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  url: string;
  range: string | undefined;
  /** Response body bytes that came back from upstream. */
  responseBytes: number;
}

/**
 * A pass-through HTTP proxy that records each request and how many bytes the
 * upstream answered with — to show, e.g., that a ranged read fetched only the
 * range from S3 rather than the whole object.
 */
export async function startCountingProxy(upstream: () => string): Promise<{ url: string; requests: ProxiedRequest[]; close(): Promise<void> }> {
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const target = new URL(req.url!, upstream());
    const record: ProxiedRequest = { method: req.method!, url: req.url!, range: req.headers.range, responseBytes: 0 };
    requests.push(record);
    const out = http.request(target, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      up.on('data', (c: Buffer) => {
        record.responseBytes += c.length;
      });
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}
