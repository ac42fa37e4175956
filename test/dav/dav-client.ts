import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { ADMIN_KEY, type TestServer } from '../helpers/server.js';

export const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
export const ADMIN_BASIC = basic('admin', ADMIN_KEY);

export interface DavInit {
  headers?: Record<string, string>;
  body?: string | Buffer | ReadableStream | NodeJS.ReadableStream;
  /** Authorization header value; null sends none. Defaults to the admin key via Basic. */
  auth?: string | null;
}

/** A WebDAV request against a test server (path relative to the server root). */
export function dav(server: TestServer, method: string, urlPath: string, init: DavInit = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  const auth = init.auth === undefined ? ADMIN_BASIC : init.auth;
  if (auth !== null) headers.authorization = auth;
  return fetch(server.url + urlPath, { method, headers, body: init.body as RequestInit['body'], duplex: 'half' } as RequestInit);
}

export const propfindBody = (props: string) => `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>${props}</D:prop></D:propfind>`;

export const LOCKINFO = (scope: 'exclusive' | 'shared', owner = '<D:href>mailto:test@example.com</D:href>') =>
  `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

/** Runs a command; resolves with its exit code and output. Fails with a clear message when the tool is missing. */
export function run(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error(`${cmd} is not installed (needed by this test)`) : err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Sends bytes exactly as given (fetch would strip a fragment or refuse odd
 * headers) and resolves with the status code of the answer.
 */
export function rawRequest(serverUrl: string, head: string, body = ''): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(serverUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(head.replace(/\n/g, '\r\n') + body));
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (!m) reject(new Error(`no HTTP answer: ${JSON.stringify(data.slice(0, 200))}`));
      else resolve({ status: Number(m[1]), text: data });
    });
  });
}
