import { createReadStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodePath } from '../rest/errors.js';
import { ERRNO, RemoteError, remoteErrorOfAnswer } from './errno.js';
import { StreamedUpload } from './streamed-upload.js';

/** Bytes as a list of buffers. */
export interface ByteParts {
  parts: Buffer[];
  length: number;
}

/** A file or directory as the server describes it (HEAD headers or a listing item). */
/** An entry as the REST API writes it in JSON (listings, and the answers to PUT and PATCH). */
interface EntryJson {
  name: string;
  type: 'file' | 'directory';
  size: number;
  mode: string;
  uid: number;
  gid: number;
  mtime: string;
}

function remoteEntryOf(item: EntryJson): RemoteEntry {
  return { name: item.name, type: item.type, size: item.size, mode: parseInt(item.mode, 8), uid: item.uid, gid: item.gid, mtimeMs: Date.parse(item.mtime) };
}

export interface RemoteEntry {
  name: string;
  type: 'file' | 'directory';
  size: number;
  /** Permission bits only. */
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
}

export interface RestClientOptions {
  serverUrl: string;
  apiKey?: string;
  /** A request that sees no progress for this long fails with EIO. */
  timeoutMs: number;
}

/** What a PUT sets besides the content. */
export interface UploadAttributes {
  mtimeMs?: number;
  mode?: number;
  uid?: number;
  gid?: number;
}

function uploadHeaders(attrs: UploadAttributes): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (attrs.mtimeMs !== undefined) headers['x-callfs-mtime'] = new Date(attrs.mtimeMs).toISOString();
  if (attrs.mode !== undefined) headers['x-callfs-mode'] = (attrs.mode & 0o7777).toString(8).padStart(4, '0');
  if (attrs.uid !== undefined) headers['x-callfs-uid'] = String(attrs.uid);
  if (attrs.gid !== undefined) headers['x-callfs-gid'] = String(attrs.gid);
  return headers;
}

/**
 * Uploads streamed while their file is written hold a connection for as long as the file is open;
 * they get connections of their own, so that they can never take every connection the other requests need.
 */
export const STREAMED_UPLOADS = 4;

export interface AttributePatch {
  destination?: string;
  overwrite?: boolean;
  mode?: number;
  uid?: number;
  gid?: number;
  /** RFC 3339. */
  mtime?: string;
}

interface RequestSpec {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A factory, so a request that failed on a stale keep-alive socket can be sent again. */
  body?: () => Readable | Buffer;
}

/** The body of GET /v1/usage: the capacity figures are null on a backend without a fixed size (S3). */
export interface RemoteUsage {
  used_bytes: number;
  total_bytes: number | null;
  free_bytes: number | null;
  available_bytes: number | null;
}

const LIST_PAGE = 10_000;
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

async function jsonOf<T>(res: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as T;
}

/** Errors of a socket the server closed while it sat idle in the pool: the request never arrived, so it is safe to resend. */
function isStaleSocket(err: unknown, req: http.ClientRequest): boolean {
  const code = (err as { code?: string }).code;
  return req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED');
}

/** The /v1 REST API over one keep-alive agent, with per-request idle timeouts. */
export class RestClient {
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly streamAgent: http.Agent;
  private streamsOpen = 0;

  constructor(private readonly options: RestClientOptions) {
    this.base = new URL(options.serverUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new Error(`server URL must be http:// or https://, got ${options.serverUrl}`);
    this.transport = this.base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 32, keepAliveMsecs: 1000 });
    this.streamAgent = new this.transport.Agent({ keepAlive: true, maxSockets: STREAMED_UPLOADS, keepAliveMsecs: 1000 });
  }

  private authorized(headers: Record<string, string>): Record<string, string> {
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    return headers;
  }

  private url(prefix: '/v1/files' | '/v1/directories', path: string, query = ''): string {
    const root = this.base.pathname.replace(/\/+$/, '');
    return `${root}${prefix}${path === '/' ? '/' : encodePath(path)}${query}`;
  }

  /** Sends a request and resolves with the response once its status is 2xx; any other status rejects with the mapped errno. */
  private async send(spec: RequestSpec, attempt = 0): Promise<IncomingMessage> {
    try {
      return await this.sendOnce(spec);
    } catch (err) {
      if (attempt === 0 && (err as { staleSocket?: boolean }).staleSocket) return this.send(spec, 1);
      throw err;
    }
  }

  private sendOnce(spec: RequestSpec): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers = this.authorized({ ...(spec.headers ?? {}) });
      const req = this.transport.request({
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        port: this.base.port,
        method: spec.method,
        path: spec.url,
        headers,
        agent: this.agent,
      });
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        const remote = err instanceof RemoteError ? err : new RemoteError(ERRNO.EIO, `${spec.method} ${spec.url}: ${(err as Error).message}`);
        if (isStaleSocket(err, req)) Object.assign(remote, { staleSocket: true });
        reject(remote);
      };
      req.setTimeout(this.options.timeoutMs, () => req.destroy(new Error(`no answer from the server within ${this.options.timeoutMs} ms`)));
      req.on('error', fail);
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          settled = true;
          // The body is read by the caller; an idle body times out like the request did.
          res.on('error', () => {});
          resolve(res);
          return;
        }
        remoteErrorOfAnswer(res).then(fail, fail);
      });
      const body = spec.body?.();
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      }
    });
  }

  private async json<T>(spec: RequestSpec): Promise<T> {
    return jsonOf<T>(await this.send(spec));
  }

  private async drain(spec: RequestSpec): Promise<void> {
    const res = await this.send(spec);
    res.resume();
    await new Promise<void>((resolve, reject) => {
      res.once('end', resolve);
      res.once('error', reject);
      res.once('close', resolve);
    });
  }

  /** GET /v1/usage; null from a server that predates it (404), so the mount can still answer statfs. */
  async usage(): Promise<RemoteUsage | null> {
    const root = this.base.pathname.replace(/\/+$/, '');
    try {
      return await this.json<RemoteUsage>({ method: 'GET', url: `${root}/v1/usage` });
    } catch (err) {
      if (err instanceof RemoteError && err.status === 404) return null;
      throw err;
    }
  }

  async stat(path: string): Promise<RemoteEntry> {
    const res = await this.send({ method: 'HEAD', url: this.url('/v1/files', path) });
    res.resume();
    const h = res.headers;
    const header = (name: string) => {
      const value = h[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const type = header('x-callfs-type');
    if (type !== 'file' && type !== 'directory') throw new RemoteError(ERRNO.EIO, `HEAD ${path}: the server sent no X-CallFS-Type`);
    return {
      name: baseName(path),
      type,
      size: Number(header('x-callfs-size') ?? 0),
      mode: parseInt(header('x-callfs-mode') ?? '0', 8),
      uid: Number(header('x-callfs-uid') ?? 0),
      gid: Number(header('x-callfs-gid') ?? 0),
      mtimeMs: Date.parse(header('x-callfs-mtime') ?? '') || 0,
    };
  }

  /** Every entry of a directory, with attributes, following the server's paging. */
  async list(path: string): Promise<RemoteEntry[]> {
    const out: RemoteEntry[] = [];
    let cursor: string | undefined;
    do {
      const query = `?limit=${LIST_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await this.json<{ items: EntryJson[]; next_cursor?: string }>({ method: 'GET', url: this.url('/v1/directories', path, query) });
      for (const item of page.items) out.push(remoteEntryOf(item));
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  }

  /**
   * Bytes [start, start + length) of a file, fewer at the end of the file, none
   * past it; as the socket's own chunks, not copied into one big buffer (big
   * allocations fragment the allocator and inflate the footprint).
   */
  async readRange(path: string, start: number, length: number): Promise<ByteParts> {
    let res: IncomingMessage;
    try {
      res = await this.send({ method: 'GET', url: this.url('/v1/files', path), headers: { range: `bytes=${start}-${start + length - 1}` } });
    } catch (err) {
      if (err instanceof RemoteError && err.status === 416) return { parts: [], length: 0 };
      throw err;
    }
    // 200 means the server sent the whole file; skip to the range.
    let skip = res.statusCode === 206 ? 0 : start;
    const parts: Buffer[] = [];
    let filled = 0;
    for await (const raw of res) {
      let chunk = raw as Buffer;
      if (skip > 0) {
        const dropped = Math.min(skip, chunk.length);
        chunk = chunk.subarray(dropped);
        skip -= dropped;
      }
      if (chunk.length > length - filled) chunk = chunk.subarray(0, length - filled);
      if (chunk.length > 0) parts.push(chunk);
      filled += chunk.length;
      if (filled === length) {
        res.destroy();
        break;
      }
    }
    return { parts, length: filled };
  }

  /** Streams a whole file into `sink`. */
  async download(path: string, sink: Writable): Promise<void> {
    const res = await this.send({ method: 'GET', url: this.url('/v1/files', path) });
    await pipeline(res, sink);
  }

  /** Replaces a file with `content`, a buffer or a local file streamed (PUT is atomic on the server); returns the file as stored. */
  async upload(path: string, content: Buffer | { file: string; size: number }, attrs: UploadAttributes = {}): Promise<RemoteEntry> {
    const size = Buffer.isBuffer(content) ? content.length : content.size;
    const headers = { ...uploadHeaders(attrs), 'content-length': String(size) };
    const body = () => (Buffer.isBuffer(content) ? content : createReadStream(content.file, { highWaterMark: 256 * 1024 }));
    return remoteEntryOf(await this.json<EntryJson>({ method: 'PUT', url: this.url('/v1/files', path), headers, body }));
  }

  /**
   * Starts a PUT whose body follows as it is written (see StreamedUpload); null when
   * STREAMED_UPLOADS are open already, and the caller uploads the file when it is done.
   */
  startUpload(path: string, attrs: UploadAttributes): StreamedUpload | null {
    if (this.streamsOpen >= STREAMED_UPLOADS) return null;
    const req = this.transport.request({
      protocol: this.base.protocol,
      hostname: this.base.hostname,
      port: this.base.port,
      method: 'PUT',
      path: this.url('/v1/files', path),
      headers: this.authorized({ ...uploadHeaders(attrs), 'transfer-encoding': 'chunked' }),
      agent: this.streamAgent,
    });
    this.streamsOpen++;
    req.once('close', () => this.streamsOpen--);
    return new StreamedUpload(req, `PUT ${path}`, this.options.timeoutMs);
  }

  /** The file as stored, from the answer to a streamed upload. */
  async storedBy(upload: StreamedUpload): Promise<RemoteEntry> {
    return remoteEntryOf(await jsonOf<EntryJson>(await upload.finish()));
  }

  /** Creates or empties a file. */
  async putEmpty(path: string, mode?: number): Promise<void> {
    const headers: Record<string, string> = { 'content-length': '0' };
    if (mode !== undefined) headers['x-callfs-mode'] = (mode & 0o7777).toString(8).padStart(4, '0');
    await this.drain({ method: 'PUT', url: this.url('/v1/files', path), headers, body: () => Buffer.alloc(0) });
  }

  /** Creates a directory; returns it as the server made it (owned by the mount's principal). */
  async mkdir(path: string, mode: number): Promise<RemoteEntry> {
    const headers = { 'x-callfs-mode': (mode & 0o7777).toString(8).padStart(4, '0'), 'content-length': '0' };
    return remoteEntryOf(await this.json<EntryJson>({ method: 'POST', url: this.url('/v1/files', path) + '/', headers, body: () => Buffer.alloc(0) }));
  }

  async remove(path: string): Promise<void> {
    await this.drain({ method: 'DELETE', url: this.url('/v1/files', path) });
  }

  /** Changes attributes; returns the entry as the server now has it. */
  async patch(path: string, body: AttributePatch): Promise<RemoteEntry> {
    const text = Buffer.from(JSON.stringify(body));
    return remoteEntryOf(await this.json<EntryJson>({ method: 'PATCH', url: this.url('/v1/files', path), headers: { 'content-type': 'application/json', 'content-length': String(text.length) }, body: () => text }));
  }

  close(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }
}
