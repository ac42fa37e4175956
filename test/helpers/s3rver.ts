import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { S3Backend, type S3BackendOptions } from '../../src/vfs/backends/s3.js';

/** s3rver's built-in account. */
export const S3RVER_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface RunningS3rver {
  endpoint: string;
  port: number;
  bucket: string;
  /** Where s3rver keeps objects: <dir>/<bucket>/<key>._S3rver_object */
  dir: string;
  /** Stops answering (closes the listener and every open connection), keeping the data. */
  stop(): Promise<void>;
  /** Starts again on the same port with the same data. */
  start(): Promise<void>;
  /** An S3Backend on this server (fast breaker settings for tests unless overridden). */
  backend(overrides?: Partial<S3BackendOptions>): S3Backend;
  /** s3_* config keys (YAML shape) pointing a CallFS server here. */
  config(): Record<string, unknown>;
  close(): Promise<void>;
}

/** A real S3-speaking server (s3rver) on a free loopback port with its own temp dir. */
export async function startS3rver(bucket = 'callfs-test'): Promise<RunningS3rver> {
  if (!process.execArgv.join(' ').includes('openssl-legacy-provider') && !(process.env.NODE_OPTIONS ?? '').includes('--openssl-legacy-provider')) {
    throw new Error('s3rver needs NODE_OPTIONS=--openssl-legacy-provider (npm test sets it; run tests through scripts/run-tests.mjs)');
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'callfs-s3rver-'));
  let server: S3rver | null = null;
  let port = 0;
  const start = async () => {
    server = new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
    const address = (await server.run()) as { port: number };
    port = address.port;
  };
  const stop = async () => {
    const s = server;
    server = null;
    if (!s) return;
    const http = (s as unknown as { httpServer: Server }).httpServer;
    const closed = s.close();
    http.closeAllConnections();
    await closed;
  };
  await start();
  const endpoint = () => `http://127.0.0.1:${port}`;
  return {
    get endpoint() {
      return endpoint();
    },
    get port() {
      return port;
    },
    bucket,
    dir,
    stop,
    start,
    backend: (overrides = {}) =>
      new S3Backend({
        bucket,
        region: 'us-east-1',
        endpoint: endpoint(),
        ...S3RVER_KEY,
        partSize: 5 * 1024 * 1024,
        queueSize: 2,
        breakerCooldownMs: 500,
        requestTimeoutMs: 10_000,
        ...overrides,
      }),
    config: () => ({
      s3_endpoint: endpoint(),
      s3_bucket_name: bucket,
      s3_access_key: S3RVER_KEY.accessKeyId,
      s3_secret_key: S3RVER_KEY.secretAccessKey,
      s3_part_size: 5 * 1024 * 1024,
      s3_queue_size: 2,
    }),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
