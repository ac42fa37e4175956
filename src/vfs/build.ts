import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Backend } from './backends/backend.js';
import { LocalFsBackend } from './backends/localfs.js';
import { NoopBackend } from './backends/noop.js';
import { BackendRegistry } from './backends/registry.js';
import { S3Backend } from './backends/s3.js';
import type { LockManager } from './locks/lock-manager.js';
import { LocalLockManager } from './locks/local.js';
import type { MetadataStore } from './metadata/store.js';
import { SqliteStore } from './metadata/sqlite.js';
import { normalizePath } from './path.js';
import { Vfs } from './vfs.js';
import { BlobCache } from './blob-cache.js';
import type { Metrics } from '../observability/metrics.js';
import { instrumentBackend, instrumentLocks, instrumentStore } from '../observability/instrument.js';

/** Picks each engine from config: the one registry of stores, lock managers and backends. */
export async function openMetadataStore(config: Config): Promise<MetadataStore> {
  switch (config.metadata_store.type) {
    case 'sqlite': {
      const store = new SqliteStore(config.metadata_store.sqlite_path ?? path.join(config.data_dir, 'metadata.db'));
      await store.migrate();
      return store;
    }
    case 'postgres':
      throw new Error('metadata_store.type postgres is not available in this build yet');
  }
}

export function openLockManager(config: Config): LockManager {
  switch (config.dlm.type) {
    case 'local':
      return new LocalLockManager(config.dlm.acquire_timeout * 1000);
    case 'redis':
      throw new Error('dlm.type redis is not available in this build yet');
  }
}

function openS3Backend(config: Config): S3Backend {
  const b = config.backend;
  return new S3Backend({
    bucket: b.s3_bucket_name!,
    region: b.s3_region,
    endpoint: b.s3_endpoint,
    accessKeyId: b.s3_access_key,
    secretAccessKey: b.s3_secret_key,
    serverSideEncryption: b.s3_server_side_encryption,
    kmsKeyId: b.s3_kms_key_id,
    acl: b.s3_acl,
    partSize: b.s3_part_size,
    queueSize: b.s3_queue_size,
    requestTimeoutMs: b.s3_request_timeout * 1000,
    breakerCooldownMs: b.s3_breaker_cooldown * 1000,
  });
}

/** Where localfs keeps blobs: backend.localfs_root_path, or <data_dir>/localfs. */
export function localfsRootPath(config: Config): string {
  return config.backend.localfs_root_path ?? path.join(config.data_dir, 'localfs');
}

export function openBackends(config: Config, decorate: (backend: Backend) => Backend = (b) => b): BackendRegistry {
  const wanted = new Set([config.backend.default_backend, ...config.backend.mounts.map((m) => m.backend)]);
  const backends = new Map<string, Backend>();
  for (const name of wanted) {
    switch (name) {
      case 'localfs':
        backends.set(name, new LocalFsBackend(localfsRootPath(config)));
        break;
      case 'noop':
        backends.set(name, new NoopBackend());
        break;
      case 's3':
        backends.set(name, openS3Backend(config));
        break;
    }
  }
  const mounts = config.backend.mounts.map((m) => ({ prefix: normalizePath(m.path), backend: m.backend }));
  const decorated = new Map([...backends].map(([name, backend]) => [name, decorate(backend)] as const));
  return new BackendRegistry(decorated, config.backend.default_backend, mounts);
}

export interface BuildOptions {
  instanceId: string;
  logger: Logger;
  /** When given, every store query, backend operation and lock operation is measured. */
  metrics?: Metrics;
}

export async function buildVfs(config: Config, options: BuildOptions): Promise<Vfs> {
  const { metrics } = options;
  const rawStore = await openMetadataStore(config);
  const rawLocks = openLockManager(config);
  return new Vfs({
    store: metrics ? instrumentStore(rawStore, metrics) : rawStore,
    backends: openBackends(config, metrics ? (b) => instrumentBackend(b, metrics) : undefined),
    locks: metrics ? instrumentLocks(rawLocks, metrics) : rawLocks,
    blobCache: new BlobCache(config.cache.content_max_mb * 1024 * 1024, config.cache.content_max_item_kb * 1024),
    instanceId: options.instanceId,
    onBackgroundError: (err, context) => options.logger.warn({ err }, `background cleanup failed: ${context}`),
  });
}
