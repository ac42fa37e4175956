import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { VfsError } from '../errors.js';
import { Mutex } from '../locks/mutex.js';
import type { NodeRecord } from '../types.js';
import { loadMigrations } from './migrations.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { WalIndexProbe } from './wal-index-probe.js';
import { rootNode } from './root.js';
import type {
  BlobRef,
  ChildrenPage,
  DeadProperty,
  InstanceRecord,
  LinkConsumeResult,
  LinkRecord,
  LockRecord,
  MetadataOps,
  MetadataStore,
  NewNode,
  NodePatch,
} from './store.js';
import { ROOT_ID } from './store.js';
import { lockAncestors, descendantRange } from './lock-paths.js';
import { NODE_COLUMNS, PATCH_COLUMNS, nodeFromNew, nodeFromValues, toBlobRef, toInstance, toLink, toLock, type BlobRow, type InstanceRow, type LinkRow, type LockRow, type NodeValues } from './rows.js';

function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * The synchronous core: every method is one prepared statement or one
 * better-sqlite3 transaction. The async MetadataOps facade below wraps it.
 */
class SqliteEngine {
  private readonly s;
  /** Counts write transactions; the store bumps it at each BEGIN. */
  writeTransaction = 0;
  /**
   * Inside one write transaction no other connection can add a lock, and locks only expire: once a
   * check there finds no live lock, later checks in the same transaction need not ask again.
   */
  private lockFree: { transaction: number; asOfMs: number } | null = null;

  constructor(readonly db: Database.Database) {
    const p = (sql: string) => db.prepare(sql);
    // Node rows come back as arrays: better-sqlite3 builds a row object through V8's slow property-definition
    // path, which showed as the largest single cost of listing 10,000 entries.
    const nodes = (sql: string) => db.prepare(sql).raw(true);
    this.s = {
      child: nodes(`SELECT ${NODE_COLUMNS} FROM nodes WHERE parent_id = ? AND name = ?`),
      get: nodes(`SELECT ${NODE_COLUMNS} FROM nodes WHERE id = ?`),
      children: nodes(`SELECT ${NODE_COLUMNS} FROM nodes WHERE parent_id = ? AND name > ? ORDER BY name LIMIT ?`),
      hasChildren: p('SELECT 1 FROM nodes WHERE parent_id = ? LIMIT 1'),
      // Positional parameters on the statements of every write: better-sqlite3 binds a named one by a property lookup through V8's API.
      insert: p(`INSERT INTO nodes (parent_id, name, type, size, mode, uid, gid, mtime_ms, ctime_ms, btime_ms, etag, blob_key, backend, instance_id)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      move: p('UPDATE nodes SET parent_id = ?, name = ?, ctime_ms = ? WHERE id = ?'),
      subtree: p(`WITH RECURSIVE t(id) AS (SELECT ? UNION ALL SELECT n.id FROM nodes n JOIN t ON n.parent_id = t.id)
                  SELECT n.id, n.backend, n.blob_key, n.size, n.instance_id FROM nodes n JOIN t ON n.id = t.id WHERE n.blob_key IS NOT NULL`),
      childKinds: p('SELECT id, type FROM nodes WHERE parent_id = ? LIMIT ?'),
      deleteNode: p('DELETE FROM nodes WHERE id = ?'),
      propertyHolders: p('SELECT DISTINCT node_id FROM properties WHERE node_id IN (SELECT value FROM json_each(?))').pluck(),
      props: p('SELECT namespace, name, value FROM properties WHERE node_id = ? ORDER BY namespace, name'),
      setProp: p('INSERT INTO properties (node_id, namespace, name, value) VALUES (?, ?, ?, ?) ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = excluded.value'),
      removeProp: p('DELETE FROM properties WHERE node_id = ? AND namespace = ? AND name = ?'),
      copyProps: p('INSERT OR REPLACE INTO properties (node_id, namespace, name, value) SELECT ?, namespace, name, value FROM properties WHERE node_id = ?'),
      insertLock: p(`INSERT INTO locks (token, path, depth, scope, owner_xml, principal, timeout_s, created_ms, expires_ms)
                     VALUES (@token, @path, @depth, @scope, @ownerXml, @principal, @timeoutSeconds, @createdAtMs, @expiresAtMs)`),
      getLock: p('SELECT * FROM locks WHERE token = ?'),
      refreshLock: p('UPDATE locks SET timeout_s = ?, expires_ms = ? WHERE token = ?'),
      deleteLock: p('DELETE FROM locks WHERE token = ?'),
      anyLock: p('SELECT 1 FROM locks WHERE expires_ms > ? LIMIT 1'),
      locksAt: p('SELECT * FROM locks WHERE expires_ms > ? AND path = ?'),
      locksInfinityAt: p(`SELECT * FROM locks WHERE expires_ms > ? AND depth = 'infinity' AND path = ?`),
      locksBelow: p('SELECT * FROM locks WHERE expires_ms > ? AND path >= ? AND path < ?'),
      deleteExpiredLocks: p('DELETE FROM locks WHERE expires_ms <= ?'),
      deleteLocksExact: p('DELETE FROM locks WHERE path = ?'),
      deleteLocksBelow: p('DELETE FROM locks WHERE path >= ? AND path < ?'),
      insertLink: p(`INSERT INTO links (id, path, created_by, created_ms, expires_ms, used_ms)
                     VALUES (@id, @path, @createdBy, @createdAtMs, @expiresAtMs, @usedAtMs)`),
      consumeLink: p('UPDATE links SET used_ms = ? WHERE id = ? AND used_ms IS NULL AND expires_ms > ? RETURNING *'),
      getLink: p('SELECT * FROM links WHERE id = ?'),
      deleteExpiredLinks: p('DELETE FROM links WHERE expires_ms <= ?'),
      upsertInstance: p(`INSERT INTO instances (instance_id, endpoint, heartbeat_ms, started_ms) VALUES (@instanceId, @endpoint, @heartbeatAtMs, @startedAtMs)
                         ON CONFLICT (instance_id) DO UPDATE SET endpoint = excluded.endpoint, heartbeat_ms = excluded.heartbeat_ms, started_ms = excluded.started_ms`),
      instances: p('SELECT * FROM instances ORDER BY instance_id'),
      usedBytes: p('SELECT coalesce(sum(file_bytes), 0) FROM usage_totals').pluck(),
      putInline: p('INSERT INTO inline_blobs (key, data) VALUES (?, ?)'),
      getInline: p('SELECT data FROM inline_blobs WHERE key = ?'),
      deleteInline: p('DELETE FROM inline_blobs WHERE key = ?'),
      inlineKeys: p('SELECT key, length(data) AS size FROM inline_blobs ORDER BY key'),
      blobRefs: p('SELECT id, backend, blob_key, size, instance_id FROM nodes WHERE blob_key IS NOT NULL ORDER BY id'),
    };
  }

  lookup(path: string): NodeRecord | null {
    const chain = this.resolve(path);
    const wanted = path === '/' ? 1 : path.split('/').length;
    return chain.length === wanted ? chain[chain.length - 1]! : null;
  }

  resolve(path: string): NodeRecord[] {
    const root = this.s.get.get(ROOT_ID) as NodeValues | undefined;
    if (!root) return [];
    let node = nodeFromValues(root);
    const chain = [node];
    if (path === '/') return chain;
    for (const name of path.slice(1).split('/')) {
      if (node.type !== 'directory') break;
      const next = this.s.child.get(node.id, name) as NodeValues | undefined;
      if (!next) break;
      node = nodeFromValues(next);
      chain.push(node);
    }
    return chain;
  }

  child(parentId: number, name: string): NodeRecord | null {
    const row = this.s.child.get(parentId, name) as NodeValues | undefined;
    return row ? nodeFromValues(row) : null;
  }

  get(id: number): NodeRecord | null {
    const row = this.s.get.get(id) as NodeValues | undefined;
    return row ? nodeFromValues(row) : null;
  }

  children(dirId: number, page: ChildrenPage = {}): NodeRecord[] {
    const rows = this.s.children.all(dirId, page.after ?? '', page.limit ?? -1) as NodeValues[];
    return rows.map(nodeFromValues);
  }

  hasChildren(dirId: number): boolean {
    return this.s.hasChildren.get(dirId) !== undefined;
  }

  insert(node: NewNode): NodeRecord {
    try {
      const { parentId, name, type, size, mode, uid, gid, mtimeMs, ctimeMs, btimeMs, etag, blobKey, backend, instanceId } = node;
      const info = this.s.insert.run(parentId, name, type, size, mode, uid, gid, mtimeMs, ctimeMs, btimeMs, etag, blobKey, backend, instanceId);
      return nodeFromNew(Number(info.lastInsertRowid), node);
    } catch (err) {
      if (isUniqueViolation(err)) throw new VfsError('EXISTS', `already exists: ${node.name}`);
      throw err;
    }
  }

  update(id: number, patch: NodePatch): NodeRecord {
    const keys: Array<keyof NodePatch> = [];
    const values: unknown[] = [];
    for (const key of Object.keys(patch) as Array<keyof NodePatch>) {
      if (patch[key] === undefined) continue;
      keys.push(key);
      values.push(patch[key]);
    }
    const row = keys.length > 0 ? (this.updateStatement(keys).get(...values, id) as NodeValues | undefined) : (this.s.get.get(id) as NodeValues | undefined);
    if (!row) throw new VfsError('NOT_FOUND', `node ${id} vanished`);
    return nodeFromValues(row);
  }

  /** One prepared UPDATE per set of patched columns (a handful in practice: the callers' patch shapes). */
  private readonly updates = new Map<string, Database.Statement>();
  private updateStatement(keys: Array<keyof NodePatch>): Database.Statement {
    const signature = keys.join(',');
    let statement = this.updates.get(signature);
    if (!statement) {
      statement = this.db.prepare(`UPDATE nodes SET ${keys.map((k) => `${PATCH_COLUMNS[k]} = ?`).join(', ')} WHERE id = ? RETURNING ${NODE_COLUMNS}`).raw(true);
      this.updates.set(signature, statement);
    }
    return statement;
  }

  move(id: number, newParentId: number, newName: string, ctimeMs: number): NodeRecord {
    try {
      const info = this.s.move.run(newParentId, newName, ctimeMs, id);
      if (info.changes === 0) throw new VfsError('NOT_FOUND', `node ${id} vanished`);
    } catch (err) {
      if (isUniqueViolation(err)) throw new VfsError('EXISTS', `already exists: ${newName}`);
      throw err;
    }
    return this.get(id)!;
  }

  removeTree(id: number): BlobRef[] {
    const rows = this.s.subtree.all(id) as BlobRow[];
    this.s.deleteNode.run(id);
    return rows.map(toBlobRef);
  }

  /**
   * A walk that reads at most `atMost` rows. SQLite's recursive WITH runs each step to its end, so
   * even with a LIMIT it read every member of a directory of a million entries (120 ms; 400 without).
   */
  countTree(id: number, atMost: number): number {
    let count = 1;
    const dirs = [id];
    while (dirs.length > 0 && count < atMost) {
      for (const child of this.s.childKinds.iterate(dirs.pop(), atMost - count) as Iterable<{ id: number; type: string }>) {
        count++;
        if (child.type === 'directory') dirs.push(child.id);
      }
    }
    return Math.min(count, atMost);
  }

  getProperties(nodeId: number): DeadProperty[] {
    return this.s.props.all(nodeId) as DeadProperty[];
  }

  propertyHolders(nodeIds: readonly number[]): Set<number> {
    if (nodeIds.length === 0) return new Set();
    return new Set(this.s.propertyHolders.all(JSON.stringify(nodeIds)) as number[]);
  }

  patchProperties(nodeId: number, set: DeadProperty[], remove: Array<Pick<DeadProperty, 'namespace' | 'name'>>): void {
    for (const p of set) this.s.setProp.run(nodeId, p.namespace, p.name, p.value);
    for (const p of remove) this.s.removeProp.run(nodeId, p.namespace, p.name);
  }

  copyProperties(fromNodeId: number, toNodeId: number): void {
    this.s.copyProps.run(toNodeId, fromNodeId);
  }

  insertLock(lock: LockRecord): void {
    this.lockFree = null;
    this.s.insertLock.run({ ...lock, depth: String(lock.depth) });
  }

  getLock(token: string): LockRecord | null {
    const row = this.s.getLock.get(token) as LockRow | undefined;
    return row ? toLock(row) : null;
  }

  refreshLock(token: string, timeoutSeconds: number, expiresAtMs: number): LockRecord | null {
    this.lockFree = null;
    this.s.refreshLock.run(timeoutSeconds, expiresAtMs, token);
    return this.getLock(token);
  }

  deleteLock(token: string): boolean {
    return this.s.deleteLock.run(token).changes > 0;
  }

  locksAffecting(path: string, nowMs: number, includeDescendants: boolean): LockRecord[] {
    // Every write asks; most trees hold no lock at all, and one query says so instead of one per ancestor.
    const known = this.lockFree;
    if (known && known.transaction === this.writeTransaction && this.db.inTransaction && nowMs >= known.asOfMs) return [];
    if (this.s.anyLock.get(nowMs) === undefined) {
      if (this.db.inTransaction) this.lockFree = { transaction: this.writeTransaction, asOfMs: nowMs };
      return [];
    }
    const rows = [...(this.s.locksAt.all(nowMs, path) as LockRow[])];
    for (const ancestor of lockAncestors(path)) rows.push(...(this.s.locksInfinityAt.all(nowMs, ancestor) as LockRow[]));
    if (includeDescendants) {
      const [lo, hi] = descendantRange(path);
      rows.push(...(this.s.locksBelow.all(nowMs, lo, hi) as LockRow[]));
    }
    const unique = new Map(rows.map((r) => [r.token, r]));
    return [...unique.values()].map(toLock);
  }

  deleteExpiredLocks(nowMs: number): number {
    return this.s.deleteExpiredLocks.run(nowMs).changes;
  }

  deleteLocksUnder(path: string): number {
    const [lo, hi] = descendantRange(path);
    return this.s.deleteLocksExact.run(path).changes + this.s.deleteLocksBelow.run(lo, hi).changes;
  }

  insertLink(link: LinkRecord): void {
    this.s.insertLink.run(link);
  }

  consumeLink(id: string, nowMs: number): LinkConsumeResult {
    const won = this.s.consumeLink.get(nowMs, id, nowMs) as LinkRow | undefined;
    if (won) return { status: 'success', link: toLink(won) };
    const row = this.s.getLink.get(id) as LinkRow | undefined;
    if (!row) return { status: 'not_found', link: null };
    return { status: row.used_ms !== null ? 'used' : 'expired', link: toLink(row) };
  }

  deleteExpiredLinks(beforeMs: number): number {
    return this.s.deleteExpiredLinks.run(beforeMs).changes;
  }

  upsertInstance(instance: InstanceRecord): void {
    this.s.upsertInstance.run(instance);
  }

  listInstances(): InstanceRecord[] {
    return (this.s.instances.all() as InstanceRow[]).map(toInstance);
  }

  /** Kept by the triggers of migration 0003: one row, not a sum over every file. */
  usedBytes(): number {
    return this.s.usedBytes.get() as number;
  }

  putInlineBlob(key: string, data: Buffer): void {
    this.s.putInline.run(key, data);
  }

  getInlineBlob(key: string): Buffer | null {
    return (this.s.getInline.get(key) as { data: Buffer } | undefined)?.data ?? null;
  }

  deleteInlineBlob(key: string): boolean {
    return this.s.deleteInline.run(key).changes > 0;
  }

  *inlineBlobs(): Generator<{ key: string; size: number }> {
    yield* this.s.inlineKeys.iterate() as Iterable<{ key: string; size: number }>;
  }

  *blobRefs(): Generator<BlobRef> {
    for (const r of this.s.blobRefs.iterate() as Iterable<BlobRow>) yield toBlobRef(r);
  }
}

type SyncOps = Omit<SqliteEngine, 'db' | 'writeTransaction' | 'blobRefs' | 'inlineBlobs'>;

interface PendingTransaction {
  fn: (tx: MetadataOps) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/** Most transactions one COMMIT may carry; bounds the wait of plain reads behind a batch. */
const MAX_BATCH = 256;
/** Frames added to the log between checkpoints: SQLite's own default (wal_autocheckpoint). */
const CHECKPOINT_FRAMES = 1000;
const OP_NAMES = [
  'lookup', 'resolve', 'child', 'get', 'children', 'hasChildren', 'insert', 'update', 'move', 'removeTree', 'countTree',
  'getProperties', 'propertyHolders', 'patchProperties', 'copyProperties',
  'insertLock', 'getLock', 'refreshLock', 'deleteLock', 'locksAffecting', 'deleteExpiredLocks', 'deleteLocksUnder',
  'insertLink', 'consumeLink', 'deleteExpiredLinks', 'upsertInstance', 'listInstances',
  'putInlineBlob', 'getInlineBlob', 'deleteInlineBlob', 'usedBytes',
] as const satisfies ReadonlyArray<keyof SyncOps>;

/**
 * SQLite metadata store (better-sqlite3, WAL). One connection serves the
 * process; a transaction holds a mutex so that other requests' statements
 * cannot slip into it between its awaits.
 */
export class SqliteStore implements MetadataStore {
  readonly type = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly engine: SqliteEngine;
  private readonly gate = new Mutex();
  private readonly pending: PendingTransaction[] = [];
  /** The running drain loop, if any. */
  private draining: Promise<void> | null = null;
  private wal: FileHandle | null = null;
  /** Checkpoints off the event loop; none where the log's frame count cannot be read (then SQLite checkpoints as it does by default). */
  private readonly checkpointer: WalCheckpointer | null = null;
  /** The log's frame count when the last checkpoint began: the next is due CHECKPOINT_FRAMES later. */
  private framesAtCheckpoint = 0;
  /** Checkpoints the checkpointer was asked for, for tests. */
  private checkpoints = 0;
  /**
   * The first failed fsync of the write-ahead log (or of the database file, at a
   * checkpoint). From then on every write is refused: after a failed fsync the
   * kernel may have dropped those pages, and a later batch whose own fsync succeeds
   * would sit in the log after frames that never reached the disk, where crash
   * recovery stops reading. Only a restart (SQLite recovers what did reach the disk) clears it.
   */
  private walFailure: unknown = null;
  private readonly direct: MetadataOps;
  private readonly inTx: MetadataOps;
  /** Checked before every cache hit: a prepared statement, since db.pragma() compiles one per call. */
  private readonly dataVersionQuery: Database.Statement;
  /** Lets dataVersion skip the pragma while no connection has committed; none when the store is not in WAL mode. */
  private readonly walIndex: WalIndexProbe | null;
  private knownDataVersion: number | null = null;
  /** Transaction control, run several times per write: prepared once, since db.exec() compiles on every call. */
  private readonly control: Record<'begin' | 'savepoint' | 'release' | 'rollbackTo' | 'commit' | 'rollback', Database.Statement>;

  constructor(private readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.db = new Database(file);
    const journalMode = this.db.pragma('journal_mode = WAL', { simple: true });
    // NORMAL: COMMIT does not fsync (that would block the event loop); each batch's
    // WAL is fsynced asynchronously before anyone is told it committed (see drain),
    // and SQLite still syncs around checkpoints, so an acknowledged write survives a power cut.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.applyMigrations();
    this.engine = new SqliteEngine(this.db);
    this.direct = this.facade(true);
    this.inTx = this.facade(false);
    this.dataVersionQuery = this.db.prepare('PRAGMA data_version').pluck();
    // Opened after the migrations, by which time this connection has created the shared-memory file.
    this.walIndex = journalMode === 'wal' && file !== ':memory:' ? WalIndexProbe.open(file) : null;
    if (this.walIndex && this.walIndex.frames() !== null) {
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new WalCheckpointer(file);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.control = {
      begin: p('BEGIN IMMEDIATE'),
      savepoint: p('SAVEPOINT callfs_tx'),
      release: p('RELEASE callfs_tx'),
      rollbackTo: p('ROLLBACK TO callfs_tx'),
      commit: p('COMMIT'),
      rollback: p('ROLLBACK'),
    };
  }

  private facade(gated: boolean): MetadataOps {
    const ops: Record<string, unknown> = {};
    for (const name of OP_NAMES) {
      const fn = (this.engine[name] as (...a: unknown[]) => unknown).bind(this.engine);
      ops[name] = gated
        ? (...args: unknown[]) => (this.gate.locked ? this.gate.run(() => fn(...args)) : Promise.resolve().then(() => fn(...args)))
        : async (...args: unknown[]) => fn(...args);
    }
    const engine = this.engine;
    ops.blobRefs = async function* () {
      yield* engine.blobRefs();
    };
    ops.inlineBlobs = async function* () {
      yield* engine.inlineBlobs();
    };
    return ops as unknown as MetadataOps;
  }

  private applyMigrations(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_ms INTEGER NOT NULL)');
    const applied = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: string }>).map((r) => r.version));
    for (const m of loadMigrations('sqlite')) {
      if (applied.has(m.version)) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_ms) VALUES (?, ?)').run(m.version, Date.now());
      })();
    }
    const root = rootNode(Date.now());
    this.db
      .prepare(`INSERT OR IGNORE INTO nodes (id, parent_id, name, type, size, mode, uid, gid, mtime_ms, ctime_ms, btime_ms, etag)
                VALUES (1, NULL, '', 'directory', 0, ?, 0, 0, ?, ?, ?, ?)`)
      .run(root.mode, root.mtimeMs, root.ctimeMs, root.btimeMs, root.etag);
  }

  async migrate(): Promise<void> {
    // Applied in the constructor, because prepared statements need the schema.
  }

  /**
   * Group commit. Transactions queue up; one batch runs them one after the
   * other, each in its own SAVEPOINT (so each still commits or fails alone),
   * inside a single SQLite transaction whose COMMIT — the fsync, which blocks
   * the event loop because better-sqlite3 is synchronous — is paid once for
   * the whole batch. Nobody's promise resolves before that COMMIT, so an
   * acknowledged write is as durable as with one COMMIT per transaction.
   */
  transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    if (this.walFailure) return Promise.reject(this.notDurable());
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn: fn as (tx: MetadataOps) => Promise<unknown>, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) this.draining = this.drain();
    });
  }

  private async drain(): Promise<void> {
    // `draining` is cleared in the same synchronous step that sees the queue empty,
    // so a transaction queued at any moment is either seen here or starts a new drain.
    for (;;) {
      if (this.pending.length === 0) {
        this.draining = null;
        return;
      }
      if (this.walFailure) {
        for (const item of this.pending.splice(0)) item.reject(this.notDurable());
        continue;
      }
      // Between batches the gate is released, so queued plain reads get their turn.
      const settle = await this.gate.run(() => this.runBatch(this.pending.splice(0, MAX_BATCH)));
      // Transactions arriving during this fsync form the next batch.
      let syncError: unknown = null;
      if (settle.committed) await this.syncWal().catch((err: unknown) => (syncError = err));
      if (syncError) this.walFailure ??= syncError;
      settle.finish(syncError);
      // Between batches, so that no frames are added while it runs and the next batch can start the log afresh.
      if (settle.committed && !syncError) await this.checkpointIfDue();
    }
  }

  /**
   * A write that commits on its own (the instance heartbeat, expiry sweeps) adds to the log
   * too. When no batch is running, it checks whether a checkpoint is due, as a batch does; on
   * a server that only reads, the heartbeat alone would otherwise grow the log for good.
   */
  private async afterDirectWrite<T>(write: Promise<T>): Promise<T> {
    const value = await write;
    if (!this.draining) {
      this.draining = (async () => {
        await this.checkpointIfDue();
        // Transactions queued meanwhile waited for this; drain() clears `draining` once the queue is empty.
        await this.drain();
      })();
    }
    return value;
  }

  private async checkpointIfDue(): Promise<void> {
    if (!this.checkpointer || this.walFailure) return;
    const frames = this.walIndex?.frames() ?? null;
    if (frames === null) return;
    // Fewer frames than at the last checkpoint: a writer has started the log afresh since.
    if (frames < this.framesAtCheckpoint) this.framesAtCheckpoint = 0;
    if (frames - this.framesAtCheckpoint < CHECKPOINT_FRAMES) return;
    this.framesAtCheckpoint = frames;
    try {
      await this.checkpointer.run(() => this.syncWal());
      this.checkpoints++;
    } catch (err) {
      this.walFailure ??= err;
    }
  }

  /** fsync of the write-ahead log in libuv's pool: the durability point of every batch. */
  private async syncWal(): Promise<void> {
    if (this.file === ':memory:') return;
    this.wal ??= await fs.open(`${this.file}-wal`, 'r');
    await this.wal.sync();
  }

  private async runBatch(batch: PendingTransaction[]): Promise<{ committed: boolean; finish: (syncError: unknown) => void }> {
    const done = { committed: false, finish: (_e: unknown) => {} };
    const outcomes: Array<{ item: PendingTransaction; ok: boolean; value: unknown }> = [];
    try {
      this.control.begin.run();
      this.engine.writeTransaction++;
    } catch (err) {
      for (const item of batch) item.reject(err);
      return done;
    }
    for (const item of batch) {
      this.control.savepoint.run();
      try {
        const value = await item.fn(this.inTx);
        this.control.release.run();
        outcomes.push({ item, ok: true, value });
      } catch (err) {
        if (!this.db.inTransaction) {
          // SQLite abandoned the whole transaction (I/O error, disk full): nothing of the batch persisted.
          for (const o of outcomes) o.item.reject(err);
          item.reject(err);
          return done;
        }
        this.control.rollbackTo.run();
        this.control.release.run();
        outcomes.push({ item, ok: false, value: err });
      }
      // Transactions that arrived meanwhile join this batch.
      if (batch.length < MAX_BATCH && this.pending.length > 0) batch.push(...this.pending.splice(0, MAX_BATCH - batch.length));
    }
    try {
      this.control.commit.run();
    } catch (err) {
      if (this.db.inTransaction) this.control.rollback.run();
      for (const o of outcomes) o.item.reject(o.ok ? err : o.value);
      return done;
    }
    return {
      committed: true,
      finish: (syncError) => {
        for (const o of outcomes) {
          if (o.ok && !syncError) o.item.resolve(o.value);
          else o.item.reject(o.ok ? this.notDurable() : o.value);
        }
      },
    };
  }

  /** Changes whenever another connection (another process) commits to the database file. */
  dataVersion(): number {
    // The index is looked at before the pragma runs, so a commit that lands between the two shows up as a change next time.
    if (this.walIndex?.changed() === false && this.knownDataVersion !== null) return this.knownDataVersion;
    this.knownDataVersion = this.dataVersionQuery.get() as number;
    return this.knownDataVersion;
  }

  async ping(): Promise<void> {
    if (this.walFailure) throw this.notDurable();
    this.db.prepare('SELECT 1').get();
  }

  private notDurable(): VfsError {
    return new VfsError(
      'UNAVAILABLE',
      'the metadata store could not make a change durable (an fsync of its write-ahead log or database file failed), so it takes no more writes; restart the server, and SQLite recovers what reached the disk',
      {},
      { cause: this.walFailure },
    );
  }

  async close(): Promise<void> {
    while (this.draining) await this.draining;
    // Closed first, so that the store's own connection is the last one and checkpoints the log away as it closes.
    await this.checkpointer?.close();
    await this.gate.run(() => this.db.close());
    await this.wal?.close();
    this.walIndex?.close();
  }

  lookup = (path: string) => this.direct.lookup(path);
  resolve = (path: string) => this.direct.resolve(path);
  child = (parentId: number, name: string) => this.direct.child(parentId, name);
  get = (id: number) => this.direct.get(id);
  children = (dirId: number, page?: ChildrenPage) => this.direct.children(dirId, page);
  hasChildren = (dirId: number) => this.direct.hasChildren(dirId);
  insert = (node: NewNode) => this.afterDirectWrite(this.direct.insert(node));
  update = (id: number, patch: NodePatch) => this.afterDirectWrite(this.direct.update(id, patch));
  move = (id: number, parentId: number, name: string, ctimeMs: number) => this.afterDirectWrite(this.direct.move(id, parentId, name, ctimeMs));
  removeTree = (id: number) => this.transaction((tx) => tx.removeTree(id));
  countTree = (id: number, atMost: number) => this.direct.countTree(id, atMost);
  getProperties = (nodeId: number) => this.direct.getProperties(nodeId);
  propertyHolders = (nodeIds: readonly number[]) => this.direct.propertyHolders(nodeIds);
  patchProperties = (nodeId: number, set: DeadProperty[], remove: Array<Pick<DeadProperty, 'namespace' | 'name'>>) =>
    this.transaction((tx) => tx.patchProperties(nodeId, set, remove));
  copyProperties = (from: number, to: number) => this.afterDirectWrite(this.direct.copyProperties(from, to));
  // Writes a client is told about (a lock taken, refreshed or released; a link made or used up) are made durable
  // as every transaction is, by the WAL fsync of their batch: on their own they would commit without one
  // (synchronous = NORMAL), and a power cut could then bring back a released lock or a used single-use link.
  insertLock = (lock: LockRecord) => this.transaction((tx) => tx.insertLock(lock));
  getLock = (token: string) => this.direct.getLock(token);
  refreshLock = (token: string, timeoutSeconds: number, expiresAtMs: number) => this.transaction((tx) => tx.refreshLock(token, timeoutSeconds, expiresAtMs));
  deleteLock = (token: string) => this.transaction((tx) => tx.deleteLock(token));
  locksAffecting = (path: string, nowMs: number, includeDescendants: boolean) => this.direct.locksAffecting(path, nowMs, includeDescendants);
  deleteExpiredLocks = (nowMs: number) => this.afterDirectWrite(this.direct.deleteExpiredLocks(nowMs));
  deleteLocksUnder = (path: string) => this.transaction((tx) => tx.deleteLocksUnder(path));
  insertLink = (link: LinkRecord) => this.transaction((tx) => tx.insertLink(link));
  consumeLink = (id: string, nowMs: number) => this.transaction((tx) => tx.consumeLink(id, nowMs));
  deleteExpiredLinks = (beforeMs: number) => this.afterDirectWrite(this.direct.deleteExpiredLinks(beforeMs));
  upsertInstance = (instance: InstanceRecord) => this.afterDirectWrite(this.direct.upsertInstance(instance));
  listInstances = () => this.direct.listInstances();
  usedBytes = () => this.direct.usedBytes();
  blobRefs = () => this.direct.blobRefs();
  putInlineBlob = (key: string, data: Buffer) => this.transaction((tx) => tx.putInlineBlob(key, data));
  getInlineBlob = (key: string) => this.direct.getInlineBlob(key);
  deleteInlineBlob = (key: string) => this.transaction((tx) => tx.deleteInlineBlob(key));
  inlineBlobs = () => this.direct.inlineBlobs();
}
