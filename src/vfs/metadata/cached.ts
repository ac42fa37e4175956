import { LRUCache } from 'lru-cache';
import { baseName, depthOf, joinPath, parentOf } from '../path.js';
import type { NodeRecord } from '../types.js';
import type { InvalidationBus } from './invalidation.js';
import type { MetadataOps, MetadataStore, NewNode, NodePatch } from './store.js';

export type CacheEvent = 'hit' | 'miss' | 'eviction' | 'update';

export interface CacheOptions {
  ttlMs: number;
  maxEntries: number;
  /** Other nodes' changes arrive here, ours leave through it; absent on a single node. */
  bus?: InvalidationBus;
  now?: () => number;
  /**
   * The bus checks every hit exactly (the embedded store's data_version), so a
   * hit may renew its entry: `ttlMs` then bounds how long an unused entry is kept.
   */
  renewOnHit?: boolean;
  /**
   * This process is the only writer that announces changes (the embedded store: any other writer
   * is caught by data_version, which empties the cache). A committed transaction's attribute-only
   * updates then replace the cached records instead of dropping every path through them: a file
   * written into a directory no longer empties the cache below that directory. Not for a cluster,
   * where another node's later change to the same node could be applied here before ours.
   */
  applyOwnUpdates?: boolean;
  /** For callfs_cache_operations_total / callfs_cache_size. */
  onEvent?: (event: CacheEvent, size: number) => void;
  /** A change could not be announced to the other nodes (their entries then live at most one TTL). */
  onPublishError?: (err: unknown) => void;
}

/** A cached resolution: the ids along the path; their records live once, in the id index. */
interface CachedChain {
  ids: number[];
  expiresAt: number;
}

/** What one transaction changed, as the cache must know it. */
interface TransactionChanges {
  /** Every node id the transaction touched: what the other nodes (and this one, if it failed) drop. */
  touched: Set<number>;
  /** Nodes whose place in the tree changed (moved, removed): every path through them goes. */
  relocated: Set<number>;
  /** Directories that gained a name: negative entries that stopped at them go. */
  grew: Set<number>;
  /** The last record each update returned. */
  updated: Map<number, NodeRecord>;
  /** The records of the nodes it created (recorded with `applyOwnUpdates` only). */
  inserted: NodeRecord[];
  /** The resolutions it made, as it saw them (recorded with `applyOwnUpdates` only). */
  resolved: Array<{ path: string; chain: NodeRecord[] }>;
}

const RECORD_FIELDS = [
  'id', 'parentId', 'name', 'type', 'size', 'mode', 'uid', 'gid', 'mtimeMs', 'ctimeMs', 'btimeMs', 'etag', 'blobKey', 'backend', 'instanceId',
] as const satisfies ReadonlyArray<keyof NodeRecord>;
// A field added to NodeRecord and not listed above fails to compile here.
const everyFieldCompared: Exclude<keyof NodeRecord, (typeof RECORD_FIELDS)[number]> extends never ? true : false = true;
void everyFieldCompared;

/** Runs for each node of every resolution the cache stores: a fixed list, no Object.keys per call. */
function sameRecord(a: NodeRecord, b: NodeRecord): boolean {
  for (const field of RECORD_FIELDS) if (a[field] !== b[field]) return false;
  return true;
}

/**
 * A per-node cache of path resolutions in front of a MetadataStore: the hot
 * path of every request. Each entry is indexed by the node ids on its chain,
 * so a change to a node drops every path that went through it (a directory's
 * move or delete drops its whole subtree, an insert drops the negative entries
 * that stopped at the parent); with `applyOwnUpdates`, this process's own
 * committed attribute updates replace the one shared record of the node
 * instead. Changes are dropped here and announced to the
 * other nodes before the transaction's promise resolves, i.e. before the
 * write is acknowledged; a hit is served only when the bus confirms this node
 * has applied every announced change (see invalidation.ts), otherwise the read
 * goes to the database. Reads inside transactions never use the cache; a
 * resolution that raced with a change is not stored (generation check); and
 * while the bus is down the cache is bypassed and emptied.
 */
export class CachedMetadataStore implements MetadataStore {
  readonly type: MetadataStore['type'];
  /**
   * Least recently used first out. lru-cache rather than a Map in insertion order: evicting from a
   * Map's front gets slower as deleted slots pile up there, and a cache that is full evicts on every miss.
   */
  private readonly entries: LRUCache<string, CachedChain>;
  /**
   * For each node on a cached chain: the paths through it, and the one record
   * they all share (a directory's record is held once, not once per member).
   */
  private readonly byId = new Map<number, { record: NodeRecord; paths: Set<string> }>();
  /** Negative entries (the path does not exist), by the last node their walk reached. */
  private readonly negatives = new Map<number, Set<string>>();
  /** The path of each node that is the last of a cached (positive) chain: where a node created in it is found. */
  private readonly ownPaths = new Map<number, string>();
  private generation = 0;
  private readonly now: () => number;

  constructor(
    private readonly inner: MetadataStore,
    private readonly options: CacheOptions,
  ) {
    this.type = inner.type;
    this.now = options.now ?? Date.now;
    this.entries = new LRUCache<string, CachedChain>({
      max: Math.max(1, options.maxEntries),
      // Every way out of the cache (delete, replacement, eviction) takes the path out of the id index.
      dispose: (entry, path, reason) => {
        this.unindex(path, entry.ids);
        if (reason === 'evict') this.event('eviction');
      },
    });
    options.bus?.subscribe((message) => (message ? this.drop(message.ids) : this.clear()));
  }

  get size(): number {
    return this.entries.size;
  }

  private usable(): boolean {
    return this.options.maxEntries > 0 && (this.options.bus?.healthy() ?? true);
  }

  private event(event: CacheEvent): void {
    this.options.onEvent?.(event, this.entries.size);
  }

  private forget(path: string): void {
    this.entries.delete(path);
  }

  private unindex(path: string, ids: readonly number[]): void {
    for (const id of ids) {
      const slot = this.byId.get(id);
      slot?.paths.delete(path);
      if (slot?.paths.size === 0) this.byId.delete(id);
    }
    const last = ids[ids.length - 1]!;
    if (ids.length === depthOf(path) + 1) {
      if (this.ownPaths.get(last) === path) this.ownPaths.delete(last);
    } else {
      const negative = this.negatives.get(last);
      negative?.delete(path);
      if (negative?.size === 0) this.negatives.delete(last);
    }
  }

  /** The records of a cached resolution, as they are now. */
  private records(entry: CachedChain): NodeRecord[] {
    return entry.ids.map((id) => this.byId.get(id)!.record);
  }

  /** Drops every path whose chain went through one of `ids`. */
  drop(ids: readonly number[]): void {
    this.generation++;
    let dropped = 0;
    for (const id of ids) {
      for (const path of [...(this.byId.get(id)?.paths ?? [])]) {
        this.forget(path);
        dropped++;
      }
    }
    if (dropped > 0) this.event('update');
  }

  clear(): void {
    this.generation++;
    // The indexes first: clearing the entries then finds nothing left to unindex.
    this.byId.clear();
    this.negatives.clear();
    this.ownPaths.clear();
    this.entries.clear();
    this.event('update');
  }

  /** Stores a resolution; returns its chain made of the shared records. */
  private remember(path: string, chain: NodeRecord[]): NodeRecord[] {
    this.forget(path);
    const shared = chain.map((node) => {
      let slot = this.byId.get(node.id);
      // The records of a cached chain (a parent extended by one name) are the slots' own: nothing to compare.
      if (slot && slot.record !== node && !sameRecord(slot.record, node)) {
        // Two versions of one node: the entries holding the other one are dropped rather than trusted.
        for (const stale of [...slot.paths]) this.forget(stale);
        slot = undefined;
      }
      if (!slot) this.byId.set(node.id, (slot = { record: node, paths: new Set() }));
      slot.paths.add(path);
      return slot.record;
    });
    const expiresAt = this.now() + this.options.ttlMs;
    const ids = shared.map((node) => node.id);
    const found = ids.length === depthOf(path) + 1;
    const last = ids[ids.length - 1]!;
    if (found) {
      this.ownPaths.set(last, path);
    } else {
      if (!this.negatives.has(last)) this.negatives.set(last, new Set());
      this.negatives.get(last)!.add(path);
    }
    // Indexed before it is stored: storing may evict an older entry, and with it index slots this one shares.
    this.entries.set(path, { ids, expiresAt });
    // The parent's resolution is the same chain less its last node: kept too (sharing the records), so
    // that the next miss in the same directory can use resolveBelowCachedParent.
    const parentPath = parentOf(path);
    if (path !== '/' && found && !this.entries.has(parentPath)) {
      const prefix = ids.slice(0, -1);
      // Indexed before it is stored, for the same reason.
      for (const id of prefix) this.byId.get(id)!.paths.add(parentPath);
      this.ownPaths.set(prefix[prefix.length - 1]!, parentPath);
      this.entries.set(parentPath, { ids: prefix, expiresAt });
    }
    return shared;
  }

  private upToDate(): boolean | Promise<boolean> {
    return this.options.bus ? this.options.bus.upToDate() : true;
  }

  async resolve(path: string): Promise<NodeRecord[]> {
    if (!this.usable()) return this.inner.resolve(path);
    // A hit is served only once this node has applied every change any node has announced; the entry is
    // looked up after that check, since applying those changes may have just removed it.
    const candidate = this.entries.peek(path);
    let fresh = candidate !== undefined && candidate.expiresAt > this.now() && this.upToDate();
    if (typeof fresh !== 'boolean') fresh = await fresh;
    // get(), unlike peek(), marks the entry as recently used.
    const hit = fresh ? this.entries.get(path) : undefined;
    if (hit && hit.expiresAt > this.now()) {
      if (this.options.renewOnHit) hit.expiresAt = this.now() + this.options.ttlMs;
      this.event('hit');
      return this.records(hit);
    }
    this.event('miss');
    const generation = this.generation;
    const chain = (await this.resolveBelowCachedParent(path)) ?? (await this.inner.resolve(path));
    return generation === this.generation && this.usable() ? [...this.remember(path, chain)] : chain;
  }

  /**
   * A miss whose parent directory is cached (files just written into it, read one after the
   * other) asks the store for the last name only. The parent entry is used under the same
   * rules as a hit: unexpired, and only once the bus confirms every change has been applied.
   */
  private async resolveBelowCachedParent(path: string): Promise<NodeRecord[] | null> {
    if (path === '/') return null;
    const parentPath = parentOf(path);
    const parent = this.entries.peek(parentPath);
    const depth = depthOf(parentPath) + 1;
    if (!parent || parent.expiresAt <= this.now() || parent.ids.length !== depth) return null;
    if (!(await this.upToDate()) || this.entries.get(parentPath) !== parent) return null;
    const chain = this.records(parent);
    const dir = chain[depth - 1]!;
    if (dir.type !== 'directory') return null;
    const child = await this.inner.child(dir.id, baseName(path));
    return child ? [...chain, child] : chain;
  }

  async lookup(path: string): Promise<NodeRecord | null> {
    const chain = await this.resolve(path);
    return chain.length === depthOf(path) + 1 ? chain[chain.length - 1]! : null;
  }

  /**
   * A committed transaction of this process, applied without a round trip to the store: paths
   * through relocated nodes go, negative entries below directories that grew go, the records
   * updated in place are replaced wherever they are cached, and a node created in a cached
   * directory is cached too (a file is often read, or stat'ed by a mount, right after it is
   * written), and so is what the transaction resolved, as of its commit: a create's parent
   * directory, which a write resolves inside its transaction, past the cache. Applies happen in commit order: the embedded store settles a group-committed batch at once (after its fsync), before the next batch
   * starts, and nothing between a transaction settling and its apply waits on I/O; so the last
   * record applied is the latest, even over a read that cached the batch's result meanwhile.
   */
  private applyCommitted(changes: TransactionChanges): void {
    this.generation++;
    for (const id of changes.relocated) for (const path of [...(this.byId.get(id)?.paths ?? [])]) this.forget(path);
    for (const id of changes.grew) for (const path of [...(this.negatives.get(id) ?? [])]) this.forget(path);
    for (const [id, record] of changes.updated) {
      const slot = changes.relocated.has(id) ? undefined : this.byId.get(id);
      if (slot) slot.record = record;
    }
    for (const { path, chain } of changes.resolved) {
      // The part of the path that exists: a directory, or a file where the walk stopped.
      const existing = chain.length === 1 ? '/' : path.split('/').slice(0, chain.length).join('/');
      if (this.entries.has(existing) || chain.some((node) => changes.relocated.has(node.id))) continue;
      this.remember(existing, chain.map((node) => changes.updated.get(node.id) ?? node));
    }
    for (const created of changes.inserted) {
      const parentPath = created.parentId === null ? undefined : this.ownPaths.get(created.parentId);
      const parent = parentPath === undefined ? undefined : this.entries.peek(parentPath);
      if (!parent || changes.relocated.has(created.id)) continue;
      const record = changes.updated.get(created.id) ?? created;
      this.remember(joinPath(parentPath!, record.name), [...this.records(parent), record]);
    }
    this.event('update');
  }

  /** Announces a change to the other nodes (this one has applied it already). */
  private async announce(ids: Iterable<number>): Promise<void> {
    const list = [...new Set(ids)];
    if (list.length === 0 || !this.options.bus) return;
    try {
      await this.options.bus.publish({ ids: list });
    } catch (err) {
      this.options.onPublishError?.(err);
    }
  }

  /** Invalidates here, then tells the other nodes; runs even when the change failed, since a lost connection leaves its fate unknown. */
  private async changed(ids: Iterable<number>): Promise<void> {
    const list = [...new Set(ids)];
    if (list.length === 0) return;
    this.drop(list);
    if (this.options.bus) {
      try {
        await this.options.bus.publish({ ids: list });
      } catch (err) {
        this.options.onPublishError?.(err);
      }
    }
  }

  private async mutation<T>(ids: number[], fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      await this.changed(ids);
    }
  }

  /** The transaction's ops, noting which nodes it changes and how. */
  private recording(tx: MetadataOps, changes: TransactionChanges): MetadataOps {
    const { touched, relocated, grew, updated, inserted, resolved } = changes;
    const applying = this.options.applyOwnUpdates === true;
    return Object.assign(Object.create(tx) as MetadataOps, {
      resolve: async (path: string) => {
        const chain = await tx.resolve(path);
        if (applying) resolved.push({ path, chain });
        return chain;
      },
      insert: async (node: NewNode) => {
        touched.add(node.parentId);
        grew.add(node.parentId);
        const record = await tx.insert(node);
        if (applying) inserted.push(record);
        return record;
      },
      update: async (id: number, patch: NodePatch) => {
        touched.add(id);
        const record = await tx.update(id, patch);
        updated.set(id, record);
        return record;
      },
      move: (id: number, parentId: number, name: string, ctimeMs: number) => {
        touched.add(id).add(parentId);
        relocated.add(id);
        grew.add(parentId);
        return tx.move(id, parentId, name, ctimeMs);
      },
      removeTree: (id: number) => (touched.add(id), relocated.add(id), tx.removeTree(id)),
    });
  }

  async transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    const changes: TransactionChanges = { touched: new Set(), relocated: new Set(), grew: new Set(), updated: new Map(), inserted: [], resolved: [] };
    let result: T;
    try {
      result = await this.inner.transaction((tx) => fn(this.recording(tx, changes)));
    } catch (err) {
      await this.changed(changes.touched);
      throw err;
    }
    if (this.options.applyOwnUpdates) {
      this.applyCommitted(changes);
      await this.announce(changes.touched);
    } else {
      await this.changed(changes.touched);
    }
    return result;
  }

  insert = (node: NewNode) => this.mutation([node.parentId], () => this.inner.insert(node));
  update = (id: number, patch: NodePatch) => this.mutation([id], () => this.inner.update(id, patch));
  move = (id: number, parentId: number, name: string, ctimeMs: number) => this.mutation([id, parentId], () => this.inner.move(id, parentId, name, ctimeMs));
  removeTree = (id: number) => this.mutation([id], () => this.inner.removeTree(id));

  migrate = () => this.inner.migrate();
  ping = () => this.inner.ping();
  async close(): Promise<void> {
    await this.options.bus?.close();
    await this.inner.close();
  }

  child: MetadataStore['child'] = (parentId, name) => this.inner.child(parentId, name);
  get: MetadataStore['get'] = (id) => this.inner.get(id);
  children: MetadataStore['children'] = (dirId, page) => this.inner.children(dirId, page);
  hasChildren: MetadataStore['hasChildren'] = (dirId) => this.inner.hasChildren(dirId);
  countTree: MetadataStore['countTree'] = (id, atMost) => this.inner.countTree(id, atMost);
  getProperties: MetadataStore['getProperties'] = (nodeId) => this.inner.getProperties(nodeId);
  propertyHolders: MetadataStore['propertyHolders'] = (nodeIds) => this.inner.propertyHolders(nodeIds);
  patchProperties: MetadataStore['patchProperties'] = (nodeId, set, remove) => this.inner.patchProperties(nodeId, set, remove);
  copyProperties: MetadataStore['copyProperties'] = (from, to) => this.inner.copyProperties(from, to);
  insertLock: MetadataStore['insertLock'] = (lock) => this.inner.insertLock(lock);
  getLock: MetadataStore['getLock'] = (token) => this.inner.getLock(token);
  refreshLock: MetadataStore['refreshLock'] = (token, timeoutSeconds, expiresAtMs) => this.inner.refreshLock(token, timeoutSeconds, expiresAtMs);
  deleteLock: MetadataStore['deleteLock'] = (token) => this.inner.deleteLock(token);
  locksAffecting: MetadataStore['locksAffecting'] = (path, nowMs, includeDescendants) => this.inner.locksAffecting(path, nowMs, includeDescendants);
  deleteExpiredLocks: MetadataStore['deleteExpiredLocks'] = (nowMs) => this.inner.deleteExpiredLocks(nowMs);
  deleteLocksUnder: MetadataStore['deleteLocksUnder'] = (path) => this.inner.deleteLocksUnder(path);
  insertLink: MetadataStore['insertLink'] = (link) => this.inner.insertLink(link);
  consumeLink: MetadataStore['consumeLink'] = (id, nowMs) => this.inner.consumeLink(id, nowMs);
  deleteExpiredLinks: MetadataStore['deleteExpiredLinks'] = (beforeMs) => this.inner.deleteExpiredLinks(beforeMs);
  upsertInstance: MetadataStore['upsertInstance'] = (instance) => this.inner.upsertInstance(instance);
  listInstances: MetadataStore['listInstances'] = () => this.inner.listInstances();
  usedBytes: MetadataStore['usedBytes'] = () => this.inner.usedBytes();
  blobRefs: MetadataStore['blobRefs'] = () => this.inner.blobRefs();
  putInlineBlob: MetadataStore['putInlineBlob'] = (key, data) => this.inner.putInlineBlob(key, data);
  getInlineBlob: MetadataStore['getInlineBlob'] = (key) => this.inner.getInlineBlob(key);
  deleteInlineBlob: MetadataStore['deleteInlineBlob'] = (key) => this.inner.deleteInlineBlob(key);
  inlineBlobs: MetadataStore['inlineBlobs'] = () => this.inner.inlineBlobs();
}
