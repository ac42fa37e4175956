import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { VfsError } from '../errors.js';
import type { ByteRange } from '../types.js';
import type { Backend, BlobInfo, StoredBlob } from './backend.js';

export interface InternalProxyOptions {
  /** The node that holds the blobs. */
  instanceId: string;
  /** Name of the node-local backend on that node (e.g. localfs). */
  backendName: string;
  /** Finds the node's base URL (registration or static peer); null when unknown. */
  endpointOf: (instanceId: string) => Promise<string | null>;
  /** auth.internal_proxy_secret, sent in `secretHeader`. */
  secret: string;
  secretHeader: string;
  /** How long connecting to the peer and receiving its headers may take. */
  headersTimeoutMs?: number;
  /** Told how each read went (callfs_cross_server_operations_total); seconds until the peer's headers. */
  observe?: (outcome: 'proxy_success' | 'proxy_failure', seconds: number) => void;
}

/**
 * Reads a blob that lives on another node's localfs, streaming it from that
 * node's internal blob route with the Range passed through. It only reads:
 * content is always written to the writing node's own backend, and another
 * node's orphans are that node's fsck's business. A peer that cannot be
 * reached is PEER_FAILED (REST 502), which only requests for content it holds
 * ever see.
 */
export class InternalProxyBackend implements Backend {
  readonly type = 'internalproxy';
  readonly nodeLocal = false;

  constructor(private readonly options: InternalProxyOptions) {}

  private peerFailed(message: string, cause?: unknown): VfsError {
    return new VfsError('PEER_FAILED', `instance ${this.options.instanceId}: ${message}`, { instanceId: this.options.instanceId }, { cause });
  }

  private async request(method: 'GET' | 'HEAD', key: string, range?: ByteRange): Promise<Response> {
    let endpoint: string | null;
    try {
      endpoint = await this.options.endpointOf(this.options.instanceId);
    } catch (err) {
      // The registry lives in the metadata store; its own error (UNAVAILABLE) says more than PEER_FAILED.
      if (err instanceof VfsError) throw err;
      throw this.peerFailed('could not look up its endpoint', err);
    }
    if (!endpoint) throw this.peerFailed('no endpoint is registered for it');
    const url = `${endpoint}/internal/blobs/${encodeURIComponent(this.options.backendName)}/${encodeURIComponent(key)}`;
    const headers: Record<string, string> = { [this.options.secretHeader]: this.options.secret };
    if (range) headers.range = `bytes=${range.start}-${range.end}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.options.headersTimeoutMs ?? 10_000);
    try {
      return await fetch(url, { method, headers, signal: controller.signal });
    } catch (err) {
      throw this.peerFailed(`unreachable at ${endpoint}: ${(err as Error).message}`, err);
    } finally {
      // Only the wait for headers is bounded; a long body keeps streaming.
      clearTimeout(timer);
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const started = performance.now();
    const observe = (outcome: 'proxy_success' | 'proxy_failure') => this.options.observe?.(outcome, (performance.now() - started) / 1000);
    let res: Response;
    try {
      res = await this.request('GET', key, range);
    } catch (err) {
      observe('proxy_failure');
      throw err;
    }
    if (res.status !== (range ? 206 : 200)) {
      observe('proxy_failure');
      await res.body?.cancel().catch(() => {});
      throw this.peerFailed(`answered ${res.status} for blob ${key}`);
    }
    observe('proxy_success');
    if (!res.body) return Readable.from([]);
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }

  async stat(key: string): Promise<BlobInfo | null> {
    // One byte asked for; Content-Range carries the size (`bytes 0-0/N`, or `bytes */0` for an empty blob).
    const res = await this.request('GET', key, { start: 0, end: 0 });
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) return null;
    const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    if ((res.status !== 206 && res.status !== 416) || !total) throw this.peerFailed(`answered ${res.status} for blob ${key}`);
    return { key, size: Number(total[1]), mtimeMs: 0 };
  }

  async write(): Promise<StoredBlob> {
    throw new VfsError('INTERNAL', 'internalproxy is read-only: new content goes to the local backend');
  }

  async copy(): Promise<StoredBlob> {
    throw new VfsError('INTERNAL', 'internalproxy is read-only: copies are written to the local backend');
  }

  async delete(): Promise<void> {
    // The holder's sweeper removes its own orphans.
  }

  async *list(): AsyncIterable<BlobInfo> {}

  async ping(): Promise<void> {
    const endpoint = await this.options.endpointOf(this.options.instanceId);
    if (!endpoint) throw this.peerFailed('no endpoint is registered for it');
  }

  async close(): Promise<void> {}
}
