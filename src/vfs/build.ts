import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Backend } from './backends/backend.js';
import { LocalFsBackend, type LocalFsOptions } from './backends/localfs.js';
import { NoopBackend } from './backends/noop.js';
import { InlineBackend } from './backends/inline.js';
import { BackendRegistry } from './backends/registry.js';
import type { S3Backend } from './backends/s3.js';
import type { LockManager } from './locks/lock-manager.js';
import { LocalLockManager } from './locks/local.js';
import type { MetadataStore } from './metadata/store.js';
import type { CacheEvent } from './metadata/cached.js';
import { SqliteStore } from './metadata/sqlite.js';
import { normalizePath } from './path.js';
import { Vfs, type VfsOptions } from './vfs.js';
import { BlobCache } from './blob-cache.js';
import type { Metrics } from '../observability/metrics.js';
import { instrumentBackend, instrumentLocks, instrumentStore } from '../observability/instrument.js';

/**
 * Picks each engine from config: the one registry of stores, lock managers and
 * backends. Cluster and S3 engines are imported only when configured, so the
 * embedded default does not carry pg, ioredis and the AWS SDK in memory.
 */
export interface StoreHooks {
  logger?: Logger;
  onCacheEvent?: (event: CacheEvent, size: number) => void;
  /** Wraps the store beneath the cache (metrics count the queries that reach the database). */
  decorate?: (store: MetadataStore) => MetadataStore;
}

export async function openMetadataStore(config: Config, hooks: StoreHooks = {}): Promise<MetadataStore> {
  const { logger } = hooks;
  switch (config.metadata_store.type) {
    case 'sqlite': {
      const store = new SqliteStore(config.metadata_store.sqlite_path ?? path.join(config.data_dir, 'metadata.db'));
      await store.migrate();
      return withNodeCache(config, hooks.decorate?.(store) ?? store, hooks, () => store.dataVersion());
    }
    case 'postgres': {
      const { PostgresStore } = await import('./metadata/postgres.js');
      const m = config.metadata_store;
      const store = new PostgresStore({
        dsn: m.dsn!,
        maxOpenConns: m.max_open_conns,
        maxIdleConns: m.max_idle_conns,
        connMaxLifetimeSeconds: m.conn_max_lifetime,
        onPoolError: (err) => logger?.warn({ err: err.message }, 'PostgreSQL connection lost; the pool reconnects on demand'),
      });
      try {
        await store.migrate();
      } catch (err) {
        await store.close().catch(() => {});
        throw err;
      }
      return await withClusterCache(config, hooks.decorate?.(store) ?? store, hooks);
    }
  }
}

/**
 * The embedded default's cache: a path resolution from memory instead of a walk of
 * SQLite rows per request.
 */
async function withNodeCache(config: Config, store: MetadataStore, hooks: StoreHooks, dataVersion: () => number): Promise<MetadataStore> {
  if (config.cache.max_entries === 0 || config.cache.ttl === 0) return store;
  const [{ CachedMetadataStore }, { ExternalChangeBus }] = await Promise.all([import('./metadata/cached.js'), import('./metadata/external-changes.js')]);
  return new CachedMetadataStore(store, {
    ttlMs: config.cache.ttl * 1000,
    maxEntries: config.cache.max_entries,
    // Other processes writing the same file (fsck --repair) clear the cache before their change could be served stale.
    bus: new ExternalChangeBus(dataVersion),
    // data_version is checked before every hit, so an entry in use never needs to expire.
    renewOnHit: true,
    // This process is the only writer that announces changes: its committed updates replace cached records.
    applyOwnUpdates: true,
    onEvent: hooks.onCacheEvent,
  });
}

/**
 * The per-node metadata cache, for PostgreSQL with Redis: invalidations travel over
 * `<dlm.key_prefix>invalidate`. Without Redis there is no way to hear other nodes' changes,
 * so a PostgreSQL store without Redis has no cache.
 */
async function withClusterCache(config: Config, store: MetadataStore, hooks: StoreHooks): Promise<MetadataStore> {
  if (config.cache.max_entries === 0 || config.cache.ttl === 0 || config.dlm.type !== 'redis') return store;
  const [{ CachedMetadataStore }, { RedisInvalidationBus }, { parseRedisAddr }] = await Promise.all([
    import('./metadata/cached.js'),
    import('./metadata/invalidation.js'),
    import('./locks/redis.js'),
  ]);
  const d = config.dlm;
  const bus = new RedisInvalidationBus({
    ...parseRedisAddr(d.redis_addr),
    password: d.redis_password,
    channel: `${d.key_prefix}invalidate`,
    epochKey: `${d.key_prefix}cache-epoch`,
    connectTimeoutMs: d.connect_timeout * 1000,
  });
  return new CachedMetadataStore(store, {
    ttlMs: config.cache.ttl * 1000,
    maxEntries: config.cache.max_entries,
    bus,
    onEvent: hooks.onCacheEvent,
    onPublishError: (err) => hooks.logger?.warn({ err: (err as Error).message }, 'could not announce a metadata change to the other nodes'),
  });
}

export async function openLockManager(config: Config, logger?: Logger): Promise<LockManager> {
  switch (config.dlm.type) {
    case 'local':
      return new LocalLockManager(config.dlm.acquire_timeout * 1000);
    case 'redis': {
      const { RedisLockManager } = await import('./locks/redis.js');
      const d = config.dlm;
      return new RedisLockManager({
        redisAddr: d.redis_addr,
        password: d.redis_password,
        keyPrefix: d.key_prefix,
        lockTimeoutMs: d.lock_timeout * 1000,
        acquireTimeoutMs: d.acquire_timeout * 1000,
        retryDelayMs: d.retry_delay * 1000,
        maxRetries: d.max_retries,
        connectTimeoutMs: d.connect_timeout * 1000,
        onLockLost: (key) => logger?.error({ key }, 'a mutation lock expired while held (Redis unreachable for a whole lease)'),
        onConnectionError: (err) => logger?.warn({ err: err.message }, 'Redis connection error; reconnecting'),
      });
    }
  }
}

async function openS3Backend(config: Config): Promise<S3Backend> {
  const { S3Backend } = await import('./backends/s3.js');
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

export async function openBackends(
  config: Config,
  store: MetadataStore,
  decorate: (backend: Backend) => Backend = (b) => b,
  localfs: LocalFsOptions = {},
): Promise<BackendRegistry> {
  const wanted = new Set([config.backend.default_backend, ...config.backend.mounts.map((m) => m.backend)]);
  const backends = new Map<string, Backend>();
  for (const name of wanted) {
    switch (name) {
      case 'localfs':
        backends.set(name, new LocalFsBackend(localfsRootPath(config), localfs));
        break;
      case 'noop':
        backends.set(name, new NoopBackend());
        break;
      case 's3':
        backends.set(name, await openS3Backend(config));
        break;
    }
  }
  // Always registered, so content stored inline stays readable after inline_max_bytes is lowered to 0.
  backends.set('inline', new InlineBackend(store, config.backend.inline_max_bytes));
  const mounts = config.backend.mounts.map((m) => ({ prefix: normalizePath(m.path), backend: m.backend }));
  const decorated = new Map([...backends].map(([name, backend]) => [name, decorate(backend)] as const));
  return new BackendRegistry(decorated, config.backend.default_backend, mounts);
}

export interface BuildOptions {
  instanceId: string;
  logger: Logger;
  /** When given, every store query, backend operation and lock operation is measured. */
  metrics?: Metrics;
  /** Reader for content another node holds on its localfs (internalproxy); see src/cluster/node.ts. */
  remoteReader?: VfsOptions['remoteReader'];
  /** Called by the localfs backend every 16 MiB of an upload. */
  onWriteInterval?: LocalFsOptions['onWriteInterval'];
}

/** Label-bound children, since the cache reports an event on every lookup. */
function cacheMetrics(metrics: Metrics): (event: CacheEvent, size: number) => void {
  const events = new Map<CacheEvent, { inc: () => void }>();
  const size = metrics.cacheSize.labels({ cache_type: 'metadata' });
  let lastEntries = -1;
  return (event, entries) => {
    let counter = events.get(event);
    if (!counter) events.set(event, (counter = metrics.cacheOps.labels({ operation: event, cache_type: 'metadata' })));
    counter.inc();
    // A hit leaves the size as it was, and setting a gauge hashes its labels: set it only when it moved.
    if (entries !== lastEntries) size.set((lastEntries = entries));
  };
}

export async function buildVfs(config: Config, options: BuildOptions): Promise<Vfs> {
  const { metrics } = options;
  const store = await openMetadataStore(config, {
    logger: options.logger,
    decorate: metrics ? (s) => instrumentStore(s, metrics) : undefined,
    onCacheEvent: metrics ? cacheMetrics(metrics) : undefined,
  });
  const rawLocks = await openLockManager(config, options.logger);
  return new Vfs({
    store,
    backends: await openBackends(config, store, metrics ? (b) => instrumentBackend(b, metrics) : undefined, { onWriteInterval: options.onWriteInterval }),
    inlineMaxBytes: config.backend.inline_max_bytes,
    locks: metrics ? instrumentLocks(rawLocks, metrics) : rawLocks,
    blobCache: new BlobCache(config.cache.content_max_mb * 1024 * 1024, config.cache.content_max_item_kb * 1024),
    instanceId: options.instanceId,
    remoteReader: options.remoteReader,
    onBackgroundError: (err, context) => options.logger.warn({ err }, `background cleanup failed: ${context}`),
  });
}
