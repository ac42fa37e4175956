import type { Backend } from '../vfs/backends/backend.js';
import type { LockManager } from '../vfs/locks/lock-manager.js';
import type { MetadataOps, MetadataStore } from '../vfs/metadata/store.js';
import type { Metrics } from './metrics.js';

/**
 * Decorators that measure every store query, backend operation and lock
 * operation, so the engines themselves stay free of metrics code.
 */

/** Metadata operations by the names dashboards use (the CallFS reference names). */
const STORE_OPERATIONS: Record<keyof MetadataOps, string> = {
  lookup: 'get_metadata',
  resolve: 'get_metadata',
  child: 'get_metadata',
  get: 'get_metadata',
  children: 'list_directory',
  hasChildren: 'list_directory',
  insert: 'create_metadata',
  update: 'update_metadata',
  move: 'update_metadata',
  removeTree: 'delete_metadata',
  countTree: 'count_tree',
  getProperties: 'get_properties',
  propertyHolders: 'get_properties',
  patchProperties: 'update_properties',
  copyProperties: 'update_properties',
  insertLock: 'create_lock',
  getLock: 'get_lock',
  refreshLock: 'update_lock',
  deleteLock: 'delete_lock',
  locksAffecting: 'get_lock',
  deleteExpiredLocks: 'delete_lock',
  deleteLocksUnder: 'delete_lock',
  insertLink: 'create_link',
  consumeLink: 'consume_link',
  deleteExpiredLinks: 'delete_link',
  upsertInstance: 'register_instance',
  listInstances: 'list_instances',
  usedBytes: 'usage',
  putInlineBlob: 'create_inline_blob',
  getInlineBlob: 'get_inline_blob',
  deleteInlineBlob: 'delete_inline_blob',
  inlineBlobs: 'list_blobs',
  blobRefs: 'list_blobs',
};

function timeAsync<T>(fn: () => Promise<T>, done: (seconds: number, ok: boolean) => void): Promise<T> {
  const started = performance.now();
  return fn().then(
    (value) => {
      done((performance.now() - started) / 1000, true);
      return value;
    },
    (err: unknown) => {
      done((performance.now() - started) / 1000, false);
      throw err;
    },
  );
}

interface BoundQueryMetrics {
  readonly observe: (seconds: number) => void;
}

/** Label-bound children per registry and operation: looking them up hashes the labels, so it is done once, not per call or per transaction. */
const boundQueryMetrics = new WeakMap<Metrics, Map<string, BoundQueryMetrics>>();

function queryMetricsFor(metrics: Metrics, operation: string): BoundQueryMetrics {
  let byOperation = boundQueryMetrics.get(metrics);
  if (!byOperation) boundQueryMetrics.set(metrics, (byOperation = new Map()));
  let bound = byOperation.get(operation);
  if (!bound) {
    const queries = metrics.dbQueries.labels({ operation });
    const duration = metrics.dbDuration.labels({ operation });
    bound = { observe: (seconds) => (queries.inc(), duration.observe(seconds)) };
    byOperation.set(operation, bound);
  }
  return bound;
}

type AsyncFn = (...args: unknown[]) => Promise<unknown>;
interface Wrapped {
  original: AsyncFn;
  wrapper: AsyncFn;
}

/** The timed wrapper of `original`, made again only if the method was replaced since (tests wrap backends' methods). */
function wrapperFor(wrappers: Map<PropertyKey, Wrapped>, prop: PropertyKey, original: AsyncFn, target: object, done: (seconds: number) => void): AsyncFn {
  const known = wrappers.get(prop);
  if (known?.original === original) return known.wrapper;
  const wrapper = (...args: unknown[]) => timeAsync(() => original.apply(target, args), done);
  wrappers.set(prop, { original, wrapper });
  return wrapper;
}

function instrumentOps<T extends MetadataOps>(ops: T, metrics: Metrics): T {
  // Wrappers are made once per operation, not once per call: this is the hot path.
  const wrappers = new Map<PropertyKey, Wrapped>();
  return new Proxy(ops, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      const operation = STORE_OPERATIONS[prop as keyof MetadataOps];
      if (typeof value !== 'function' || operation === undefined || prop === 'blobRefs' || prop === 'inlineBlobs') return value;
      return wrapperFor(wrappers, prop, value as AsyncFn, target, queryMetricsFor(metrics, operation).observe);
    },
  });
}

/** Measures the queries that reach the database: wrap the store itself, beneath any cache, so hits are not counted as queries. */
export function instrumentStore(store: MetadataStore, metrics: Metrics): MetadataStore {
  const wrapped = instrumentOps(store, metrics);
  // A store that hands every transaction the same ops object (SQLite) has it wrapped once.
  const wrappedTx = new WeakMap<MetadataOps, MetadataOps>();
  const instrumentTx = (tx: MetadataOps) => {
    let instrumented = wrappedTx.get(tx);
    if (!instrumented) wrappedTx.set(tx, (instrumented = instrumentOps(tx, metrics)));
    return instrumented;
  };
  return new Proxy(wrapped, {
    get(target, prop, receiver) {
      if (prop === 'transaction') {
        return <R>(fn: (tx: MetadataOps) => Promise<R>) => store.transaction((tx) => fn(instrumentTx(tx)));
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

/** Backend operations under the reference names: open (read), create (write), delete, stat, copy, list. */
const BACKEND_OPERATIONS: Partial<Record<keyof Backend, string>> = {
  read: 'open',
  readWhole: 'open',
  openPositional: 'open',
  write: 'create',
  delete: 'delete',
  stat: 'stat',
  copy: 'copy',
  ping: 'ping',
};

export function instrumentBackend(backend: Backend, metrics: Metrics): Backend {
  const wrappers = new Map<PropertyKey, Wrapped>();
  const boundByOperation = new Map<string, (seconds: number) => void>();
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'list') {
        return () => {
          metrics.backendOps.inc({ backend_type: target.type, operation: 'list' });
          return target.list();
        };
      }
      const operation = BACKEND_OPERATIONS[prop as keyof Backend];
      if (typeof value !== 'function' || operation === undefined) return value;
      let bound = boundByOperation.get(operation);
      if (!bound) {
        const ops = metrics.backendOps.labels({ backend_type: target.type, operation });
        const duration = metrics.backendDuration.labels({ backend_type: target.type, operation });
        bound = (seconds) => (ops.inc(), duration.observe(seconds));
        boundByOperation.set(operation, bound);
      }
      return wrapperFor(wrappers, prop, value as AsyncFn, target, bound);
    },
  });
}

export function instrumentLocks(locks: LockManager, metrics: Metrics): LockManager {
  const observe = (operation: 'acquire' | 'release', seconds: number, ok: boolean) => {
    metrics.lockOps.inc({ operation, status: ok ? 'success' : 'failure' });
    metrics.lockDuration.observe({ operation }, seconds);
    metrics.activeLocks.set(locks.activeLocks());
  };
  return {
    get type() {
      return locks.type;
    },
    async acquire(keys) {
      const release = await timeAsync(() => locks.acquire(keys), (s, ok) => observe('acquire', s, ok));
      return () => timeAsync(() => release(), (s, ok) => observe('release', s, ok));
    },
    activeLocks: () => locks.activeLocks(),
    ping: () => locks.ping(),
    close: () => locks.close(),
  };
}
