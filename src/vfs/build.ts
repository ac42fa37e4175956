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

export function openBackends(config: Config): BackendRegistry {
  const wanted = new Set([config.backend.default_backend, ...config.backend.mounts.map((m) => m.backend)]);
  const backends = new Map<string, Backend>();
  for (const name of wanted) {
    switch (name) {
      case 'localfs':
        backends.set(name, new LocalFsBackend(config.backend.localfs_root_path ?? path.join(config.data_dir, 'localfs')));
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
  return new BackendRegistry(backends, config.backend.default_backend, mounts);
}

export async function buildVfs(config: Config, options: { instanceId: string; logger: Logger }): Promise<Vfs> {
  const store = await openMetadataStore(config);
  return new Vfs({
    store,
    backends: openBackends(config),
    locks: openLockManager(config),
    instanceId: options.instanceId,
    onBackgroundError: (err, context) => options.logger.warn({ err }, `background cleanup failed: ${context}`),
  });
}
