import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Target } from './client.js';
import { writeZeros } from './page-cache.js';

const run = promisify(execFile);

export interface Transfer {
  status: number;
  bytes: number;
  seconds: number;
}

/**
 * The large file's PUT (when `source` is given) and then its GET, through curl: one process for the
 * pair, which reuses its connection for the GET, as a keep-alive client does.
 *
 * Why not the bench's own Node client: after the thousands of small requests of the other workloads,
 * its first large transfer ran at a fraction of its speed (one GiB GET: 230–850 MiB/s, against
 * 1,100–1,400 for the transfers after it, and 1,600–2,100 for curl right after, from the same server),
 * and every round's GET is such a first one. The figures then measured the client's warm-up, the same
 * for every server, and hid the servers' differences. curl has no warm-up and reads its body from a
 * file already in the page cache, so the servers' speed is what is measured.
 */
export async function putThenGet(target: Target, urlPath: string, source: string | null): Promise<{ put: Transfer | null; get: Transfer }> {
  const url = target.base + urlPath;
  const common = ['-sS', '-o', '/dev/null', ...Object.entries(target.headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`])];
  // %{size_upload} / %{size_download}: the body's bytes; time_total: the transfer's own time, the process's start excluded.
  const args = source
    ? // No `Expect: 100-continue`: a server that ignores it would cost a one-second wait, to some servers and not others.
      [...common, '-H', 'Expect:', '-T', source, '-w', '%{http_code} %{size_upload} %{time_total}\\n', url, '--next', ...common, '-w', '%{http_code} %{size_download} %{time_total}\\n', url]
    : [...common, '-w', '%{http_code} %{size_download} %{time_total}\\n', url];
  const { stdout } = await run('curl', args, { maxBuffer: 1024 * 1024 });
  const transfers = stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [status, bytes, seconds] = line.split(' ').map(Number);
      return { status: status!, bytes: bytes!, seconds: seconds! };
    });
  if (transfers.length !== (source ? 2 : 1)) throw new Error(`curl reported ${transfers.length} transfers: ${stdout}`);
  return source ? { put: transfers[0]!, get: transfers[1]! } : { put: null, get: transfers[0]! };
}

/** The body of the large PUT: a file of `bytes` in `dir`; written through the page cache, it stays there for the run. */
export function uploadSource(dir: string, bytes: number): string {
  const file = path.join(dir, 'large-upload-source.bin');
  writeZeros(file, bytes);
  return file;
}
