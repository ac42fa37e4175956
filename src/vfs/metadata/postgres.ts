import pg from 'pg';
import { VfsError } from '../errors.js';
import type { NodeRecord } from '../types.js';
import { descendantRange, lockAncestors } from './lock-paths.js';
import { loadMigrations } from './migrations.js';
import { isConnectionError, isRetryable, translatePgError } from './pg-errors.js';
import { rootNode } from './root.js';
import {
  PATCH_COLUMNS,
  toBlobRef,
  toInstance,
  toLink,
  toLock,
  toNode,
  type BlobRow,
  type InstanceRow,
  type LinkRow,
  type LockRow,
  type NodeRow,
} from './rows.js';
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

export interface PostgresOptions {
  dsn: string;
  /** Pool size (metadata_store.max_open_conns). */
  maxOpenConns?: number;
  /** Connections kept open while idle (metadata_store.max_idle_conns). */
  maxIdleConns?: number;
  /** Seconds after which a connection is replaced (metadata_store.conn_max_lifetime). */
  connMaxLifetimeSeconds?: number;
  /** How long a query waits for a connection before the store answers UNAVAILABLE. */
  connectTimeoutMs?: number;
  /** Told about connections the pool lost while idle (they are replaced on demand). */
  onPoolError?: (err: Error) => void;
}

// Advisory lock keys (arbitrary constants, "callfs" in ASCII plus a suffix).
const MIGRATION_LOCK = 0x63_61_6c_01;
/**
 * Serialises structural changes (move, removeTree) cluster-wide. Without it two
 * moves on disjoint mutation locks (/a → /b/x and /b → /a/y) could each pass
 * the "not into itself" check and together make a cycle, and a delete could
 * return the blobs of a subtree a concurrent move just took out of it.
 */
const TREE_LOCK = 0x63_61_6c_02;
/** One node at a time folds the usage rows into their sum. */
const USAGE_FOLD_LOCK = 0x63_61_6c_03;
/** The usage rows are folded when a reader finds more than this many, and after every this many transactions a node commits. */
const USAGE_FOLD_AFTER = 1000;

// BIGINT (int8) comes back from node-postgres as a string; every value CallFS stores fits a JS number.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

type Run = <R extends pg.QueryResultRow>(sql: string, params?: unknown[]) => Promise<pg.QueryResult<R>>;

/** Segments of a normalised absolute path; the root has none. */
const segments = (path: string): string[] => (path === '/' ? [] : path.slice(1).split('/'));

const RESOLVE_SQL = `
WITH RECURSIVE seg(name, ord) AS (
  SELECT s.name, s.ord FROM unnest($1::text[]) WITH ORDINALITY AS s(name, ord)
), walk AS (
  SELECT n.*, 0::bigint AS depth FROM nodes n WHERE n.id = ${ROOT_ID}
  UNION ALL
  SELECT c.*, w.depth + 1 FROM walk w
    JOIN seg ON seg.ord = w.depth + 1
    JOIN nodes c ON c.parent_id = w.id AND c.name = seg.name COLLATE "C"
  WHERE w.type = 'directory'
)
SELECT * FROM walk ORDER BY depth`;

/**
 * The MetadataOps of one connection (inside a transaction) or of the pool
 * (outside one). `atomically` runs multi-statement operations in one
 * transaction: directly when already inside one, in a new one otherwise.
 */
class PgOps implements MetadataOps {
  constructor(
    private readonly run: Run,
    private readonly atomically: <T>(fn: (ops: PgOps) => Promise<T>) => Promise<T>,
  ) {}

  private async q<R extends pg.QueryResultRow>(what: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.run<R>(sql, params);
    } catch (err) {
      throw translatePgError(err, what);
    }
  }

  async lookup(path: string): Promise<NodeRecord | null> {
    const chain = await this.resolve(path);
    return chain.length === segments(path).length + 1 ? chain[chain.length - 1]! : null;
  }

  async resolve(path: string): Promise<NodeRecord[]> {
    const { rows } = await this.q<NodeRow>(path, RESOLVE_SQL, [segments(path)]);
    return rows.map(toNode);
  }

  async child(parentId: number, name: string): Promise<NodeRecord | null> {
    const { rows } = await this.q<NodeRow>(name, 'SELECT * FROM nodes WHERE parent_id = $1 AND name = $2', [parentId, name]);
    return rows[0] ? toNode(rows[0]) : null;
  }

  async get(id: number): Promise<NodeRecord | null> {
    const { rows } = await this.q<NodeRow>(`node ${id}`, 'SELECT * FROM nodes WHERE id = $1', [id]);
    return rows[0] ? toNode(rows[0]) : null;
  }

  async children(dirId: number, page: ChildrenPage = {}): Promise<NodeRecord[]> {
    const { rows } = await this.q<NodeRow>(`node ${dirId}`, 'SELECT * FROM nodes WHERE parent_id = $1 AND name > $2 ORDER BY name LIMIT $3', [
      dirId,
      page.after ?? '',
      page.limit ?? null,
    ]);
    return rows.map(toNode);
  }

  async hasChildren(dirId: number): Promise<boolean> {
    const { rowCount } = await this.q(`node ${dirId}`, 'SELECT 1 FROM nodes WHERE parent_id = $1 LIMIT 1', [dirId]);
    return (rowCount ?? 0) > 0;
  }

  async insert(node: NewNode): Promise<NodeRecord> {
    const { rows } = await this.q<NodeRow>(
      node.name,
      `INSERT INTO nodes (parent_id, name, type, size, mode, uid, gid, mtime_ms, ctime_ms, btime_ms, etag, blob_key, backend, instance_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
      [node.parentId, node.name, node.type, node.size, node.mode, node.uid, node.gid, node.mtimeMs, node.ctimeMs, node.btimeMs, node.etag, node.blobKey, node.backend, node.instanceId],
    );
    return toNode(rows[0]!);
  }

  async update(id: number, patch: NodePatch): Promise<NodeRecord> {
    const keys = (Object.keys(patch) as Array<keyof NodePatch>).filter((k) => patch[k] !== undefined);
    const sets = keys.map((k, i) => `${PATCH_COLUMNS[k]} = $${i + 2}`);
    const sql = keys.length > 0 ? `UPDATE nodes SET ${sets.join(', ')} WHERE id = $1 RETURNING *` : 'SELECT * FROM nodes WHERE id = $1';
    const { rows } = await this.q<NodeRow>(`node ${id}`, sql, [id, ...keys.map((k) => patch[k])]);
    if (!rows[0]) throw new VfsError('NOT_FOUND', `node ${id} vanished`);
    return toNode(rows[0]);
  }

  async move(id: number, newParentId: number, newName: string, ctimeMs: number): Promise<NodeRecord> {
    return this.atomically(async (ops) => {
      await ops.q('tree lock', 'SELECT pg_advisory_xact_lock($1)', [TREE_LOCK]);
      const { rowCount } = await ops.q(
        newName,
        `WITH RECURSIVE up(id, parent_id) AS (
           SELECT id, parent_id FROM nodes WHERE id = $1
           UNION ALL SELECT n.id, n.parent_id FROM nodes n JOIN up ON n.id = up.parent_id)
         SELECT 1 FROM up WHERE id = $2`,
        [newParentId, id],
      );
      if ((rowCount ?? 0) > 0) throw new VfsError('INVALID_ARGUMENT', `cannot move node ${id} into itself`);
      const { rows } = await ops.q<NodeRow>(newName, 'UPDATE nodes SET parent_id = $1, name = $2, ctime_ms = $3 WHERE id = $4 RETURNING *', [
        newParentId,
        newName,
        ctimeMs,
        id,
      ]);
      if (!rows[0]) throw new VfsError('NOT_FOUND', `node ${id} vanished`);
      return toNode(rows[0]);
    });
  }

  async removeTree(id: number): Promise<BlobRef[]> {
    return this.atomically(async (ops) => {
      await ops.q('tree lock', 'SELECT pg_advisory_xact_lock($1)', [TREE_LOCK]);
      const { rows } = await ops.q<BlobRow>(
        `node ${id}`,
        `WITH RECURSIVE t(id) AS (SELECT $1::bigint UNION ALL SELECT n.id FROM nodes n JOIN t ON n.parent_id = t.id)
         SELECT n.id, n.backend, n.blob_key, n.size, n.instance_id FROM nodes n JOIN t ON n.id = t.id WHERE n.blob_key IS NOT NULL`,
        [id],
      );
      await ops.q(`node ${id}`, 'DELETE FROM nodes WHERE id = $1', [id]);
      return rows.map(toBlobRef);
    });
  }

  async countTree(id: number, atMost: number): Promise<number> {
    // PostgreSQL computes a WITH query only as far as its reader fetches: the LIMIT ends the walk.
    const { rows } = await this.q<{ c: number }>(
      `node ${id}`,
      'WITH RECURSIVE t(id) AS (SELECT $1::bigint UNION ALL SELECT n.id FROM nodes n JOIN t ON n.parent_id = t.id) SELECT count(*)::int AS c FROM (SELECT id FROM t LIMIT $2) s',
      [id, atMost],
    );
    return rows[0]!.c;
  }

  async getProperties(nodeId: number): Promise<DeadProperty[]> {
    const { rows } = await this.q<DeadProperty>(`node ${nodeId}`, 'SELECT namespace, name, value FROM properties WHERE node_id = $1 ORDER BY namespace, name', [nodeId]);
    return rows;
  }

  async propertyHolders(nodeIds: readonly number[]): Promise<Set<number>> {
    if (nodeIds.length === 0) return new Set();
    const { rows } = await this.q<{ node_id: string | number }>('properties', 'SELECT DISTINCT node_id FROM properties WHERE node_id = ANY($1::bigint[])', [nodeIds]);
    return new Set(rows.map((r) => Number(r.node_id)));
  }

  async patchProperties(nodeId: number, set: DeadProperty[], remove: Array<Pick<DeadProperty, 'namespace' | 'name'>>): Promise<void> {
    await this.atomically(async (ops) => {
      for (const p of set) {
        await ops.q(
          p.name,
          `INSERT INTO properties (node_id, namespace, name, value) VALUES ($1, $2, $3, $4)
           ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = excluded.value`,
          [nodeId, p.namespace, p.name, p.value],
        );
      }
      for (const p of remove) await ops.q(p.name, 'DELETE FROM properties WHERE node_id = $1 AND namespace = $2 AND name = $3', [nodeId, p.namespace, p.name]);
    });
  }

  async copyProperties(fromNodeId: number, toNodeId: number): Promise<void> {
    await this.q(
      `node ${toNodeId}`,
      `INSERT INTO properties (node_id, namespace, name, value) SELECT $1, namespace, name, value FROM properties WHERE node_id = $2
       ON CONFLICT (node_id, namespace, name) DO UPDATE SET value = excluded.value`,
      [toNodeId, fromNodeId],
    );
  }

  async insertLock(lock: LockRecord): Promise<void> {
    await this.q(
      lock.path,
      `INSERT INTO locks (token, path, depth, scope, owner_xml, principal, timeout_s, created_ms, expires_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [lock.token, lock.path, String(lock.depth), lock.scope, lock.ownerXml, lock.principal, lock.timeoutSeconds, lock.createdAtMs, lock.expiresAtMs],
    );
  }

  async getLock(token: string): Promise<LockRecord | null> {
    const { rows } = await this.q<LockRow>(token, 'SELECT * FROM locks WHERE token = $1', [token]);
    return rows[0] ? toLock(rows[0]) : null;
  }

  async refreshLock(token: string, timeoutSeconds: number, expiresAtMs: number): Promise<LockRecord | null> {
    const { rows } = await this.q<LockRow>(token, 'UPDATE locks SET timeout_s = $1, expires_ms = $2 WHERE token = $3 RETURNING *', [timeoutSeconds, expiresAtMs, token]);
    return rows[0] ? toLock(rows[0]) : null;
  }

  async deleteLock(token: string): Promise<boolean> {
    const { rowCount } = await this.q(token, 'DELETE FROM locks WHERE token = $1', [token]);
    return (rowCount ?? 0) > 0;
  }

  async locksAffecting(path: string, nowMs: number, includeDescendants: boolean): Promise<LockRecord[]> {
    const [lo, hi] = descendantRange(path);
    const { rows } = await this.q<LockRow>(
      path,
      `SELECT * FROM locks WHERE expires_ms > $1 AND (
         path = $2
         OR (depth = 'infinity' AND path = ANY($3::text[]))
         OR ($4 AND path >= $5 AND path < $6))`,
      [nowMs, path, lockAncestors(path), includeDescendants, lo, hi],
    );
    return rows.map(toLock);
  }

  async deleteExpiredLocks(nowMs: number): Promise<number> {
    const { rowCount } = await this.q('locks', 'DELETE FROM locks WHERE expires_ms <= $1', [nowMs]);
    return rowCount ?? 0;
  }

  async deleteLocksUnder(path: string): Promise<number> {
    const [lo, hi] = descendantRange(path);
    const { rowCount } = await this.q(path, 'DELETE FROM locks WHERE path = $1 OR (path >= $2 AND path < $3)', [path, lo, hi]);
    return rowCount ?? 0;
  }

  async insertLink(link: LinkRecord): Promise<void> {
    await this.q(
      link.id,
      'INSERT INTO links (id, path, created_by, created_ms, expires_ms, used_ms) VALUES ($1, $2, $3, $4, $5, $6)',
      [link.id, link.path, link.createdBy, link.createdAtMs, link.expiresAtMs, link.usedAtMs],
    );
  }

  async consumeLink(id: string, nowMs: number): Promise<LinkConsumeResult> {
    // One UPDATE with the condition in WHERE: concurrent callers queue on the row lock and re-check it, so one wins.
    const won = await this.q<LinkRow>(id, 'UPDATE links SET used_ms = $1 WHERE id = $2 AND used_ms IS NULL AND expires_ms > $1 RETURNING *', [nowMs, id]);
    if (won.rows[0]) return { status: 'success', link: toLink(won.rows[0]) };
    const { rows } = await this.q<LinkRow>(id, 'SELECT * FROM links WHERE id = $1', [id]);
    if (!rows[0]) return { status: 'not_found', link: null };
    return { status: rows[0].used_ms !== null ? 'used' : 'expired', link: toLink(rows[0]) };
  }

  async deleteExpiredLinks(beforeMs: number): Promise<number> {
    const { rowCount } = await this.q('links', 'DELETE FROM links WHERE expires_ms <= $1', [beforeMs]);
    return rowCount ?? 0;
  }

  async upsertInstance(instance: InstanceRecord): Promise<void> {
    await this.q(
      instance.instanceId,
      `INSERT INTO instances (instance_id, endpoint, heartbeat_ms, started_ms) VALUES ($1, $2, $3, $4)
       ON CONFLICT (instance_id) DO UPDATE SET endpoint = excluded.endpoint, heartbeat_ms = excluded.heartbeat_ms, started_ms = excluded.started_ms`,
      [instance.instanceId, instance.endpoint, instance.heartbeatAtMs, instance.startedAtMs],
    );
  }

  async listInstances(): Promise<InstanceRecord[]> {
    const { rows } = await this.q<InstanceRow>('instances', 'SELECT * FROM instances ORDER BY instance_id');
    return rows.map(toInstance);
  }

  async usedBytes(): Promise<number> {
    return (await this.usage()).bytes;
  }

  /** The total the triggers of migration 0003 keep, and how many rows it is spread over (see foldUsage). */
  protected async usage(): Promise<{ bytes: number; rows: number }> {
    const { rows } = await this.q<{ s: number; n: number }>('usage', 'SELECT coalesce(sum(file_bytes), 0)::bigint AS s, count(*)::int AS n FROM usage_deltas');
    return { bytes: rows[0]!.s, rows: rows[0]!.n };
  }

  /**
   * Replaces the usage rows this transaction sees by their sum. Rows other transactions add meanwhile
   * are not seen, so not deleted: they stay and count. One node at a time; another finds the lock taken and leaves it.
   */
  async foldUsageDeltas(): Promise<void> {
    const { rows } = await this.q<{ got: boolean }>('usage', 'SELECT pg_try_advisory_xact_lock($1) AS got', [USAGE_FOLD_LOCK]);
    if (!rows[0]!.got) return;
    await this.q('usage', 'WITH gone AS (DELETE FROM usage_deltas RETURNING file_bytes) INSERT INTO usage_deltas (file_bytes) SELECT coalesce(sum(file_bytes), 0) FROM gone');
  }

  async putInlineBlob(key: string, data: Buffer): Promise<void> {
    await this.q(key, 'INSERT INTO inline_blobs (key, data) VALUES ($1, $2)', [key, data]);
  }

  async getInlineBlob(key: string): Promise<Buffer | null> {
    const { rows } = await this.q<{ data: Buffer }>(key, 'SELECT data FROM inline_blobs WHERE key = $1', [key]);
    return rows[0]?.data ?? null;
  }

  async deleteInlineBlob(key: string): Promise<boolean> {
    const { rowCount } = await this.q(key, 'DELETE FROM inline_blobs WHERE key = $1', [key]);
    return (rowCount ?? 0) > 0;
  }

  async *inlineBlobs(): AsyncIterable<{ key: string; size: number }> {
    let after = '';
    while (true) {
      const { rows } = await this.q<{ key: string; size: number }>('inline', 'SELECT key, octet_length(data) AS size FROM inline_blobs WHERE key > $1 ORDER BY key LIMIT 1000', [after]);
      yield* rows;
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  async *blobRefs(): AsyncIterable<BlobRef> {
    // Keyset pages rather than one result set, so memory stays flat on huge trees.
    let after = 0;
    while (true) {
      const { rows } = await this.q<BlobRow>(
        'blobs',
        'SELECT id, backend, blob_key, size, instance_id FROM nodes WHERE blob_key IS NOT NULL AND id > $1 ORDER BY id LIMIT 1000',
        [after],
      );
      for (const r of rows) yield toBlobRef(r);
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.id;
    }
  }
}

const MAX_TX_ATTEMPTS = 5;

/**
 * PostgreSQL metadata store for a cluster. Outside a transaction each call is
 * one pooled query; `transaction` runs on one checked-out connection. The
 * pool replaces lost connections by itself, so the store recovers when the
 * database comes back; meanwhile calls fail fast with UNAVAILABLE.
 */
export class PostgresStore extends PgOps implements MetadataStore {
  readonly type = 'postgres' as const;
  private readonly pool: pg.Pool;
  /** Transactions committed, to fold the usage rows now and then. */
  private committed = 0;
  private folding: Promise<void> | null = null;

  constructor(options: PostgresOptions) {
    const max = options.maxOpenConns ?? 20;
    const pool = new pg.Pool({
      connectionString: options.dsn,
      max,
      min: Math.min(options.maxIdleConns ?? 5, max),
      idleTimeoutMillis: 10_000,
      maxLifetimeSeconds: options.connMaxLifetimeSeconds ?? 1800,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      types,
    });
    // Multi-statement calls made outside a transaction open one; `self` is bound once super() has run.
    const self: { store?: PostgresStore } = {};
    super(
      (sql, params) => pool.query(sql, params),
      (fn) => self.store!.transaction((tx) => fn(tx as PgOps)),
    );
    self.store = this;
    this.pool = pool;
    // An idle connection killed by a server restart emits here; without a listener it would crash the process.
    pool.on('error', (err) => options.onPoolError?.(err));
  }

  /** Runs fn in one transaction; fn may run again after a retryable failure, so it must only touch the database. */
  async transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.transactionOnce(fn);
        // A node that writes but never reads the usage still keeps its rows few.
        if (++this.committed % USAGE_FOLD_AFTER === 0) this.foldUsage();
        return result;
      } catch (err) {
        // A deadlock victim or serialization failure did nothing; run it again. So did a transaction that
        // lost a race for a name (two nodes doing mkdir -p of one parent): run again, it sees the winner's row
        // and either uses it or reports EXISTS from its own checks. SQLite never gets here: it serialises.
        const cause = (err as { cause?: unknown }).cause;
        const lostNameRace = (cause as { code?: unknown } | undefined)?.code === '23505';
        if (attempt < MAX_TX_ATTEMPTS && (isRetryable(err) || isRetryable(cause) || lostNameRace)) continue;
        throw translatePgError(err, 'transaction');
      }
    }
  }

  private async transactionOnce<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translatePgError(err, 'transaction');
    }
    let broken: Error | undefined;
    // A checked-out client has no error listener of the pool's: a connection lost between two queries
    // would otherwise be an uncaught 'error' event. It fails the next query; here it is only noted.
    const onError = (err: Error) => (broken ??= err);
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const inTx: PgOps = new PgOps((sql, params) => client.query(sql, params), (inner) => inner(inTx));
      const result = await fn(inTx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackErr) {
        broken = rollbackErr as Error;
      }
      if (isConnectionError(err)) broken ??= err as Error;
      throw err;
    } finally {
      // A connection that failed is destroyed rather than returned to the pool.
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  async migrate(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw translatePgError(err, 'migrations');
    }
    let lost: Error | undefined;
    const onError = (err: Error) => (lost ??= err);
    client.on('error', onError);
    try {
      // Several nodes starting at once: one applies the migrations, the others wait and then find nothing to do.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_ms BIGINT NOT NULL)');
        const applied = new Set((await client.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
        for (const m of loadMigrations('postgres')) {
          if (applied.has(m.version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query('INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)', [m.version, Date.now()]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }
        const root = rootNode(Date.now());
        await client.query(
          `INSERT INTO nodes (id, parent_id, name, type, size, mode, uid, gid, mtime_ms, ctime_ms, btime_ms, etag)
           VALUES (${ROOT_ID}, NULL, '', 'directory', 0, $1, 0, 0, $2, $2, $2, $3) ON CONFLICT (id) DO NOTHING`,
          [root.mode, root.mtimeMs, root.etag],
        );
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
      client.removeListener('error', onError);
      client.release(lost);
    } catch (err) {
      client.removeListener('error', onError);
      client.release(err as Error);
      throw translatePgError(err, 'migrations');
    }
  }

  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
    } catch (err) {
      throw translatePgError(err, 'ping');
    }
  }

  override async usedBytes(): Promise<number> {
    const { bytes, rows } = await this.usage();
    if (rows > USAGE_FOLD_AFTER) this.foldUsage();
    return bytes;
  }

  /** Folds the usage rows in the background; a failure leaves them for the next fold, the total is right either way. */
  private foldUsage(): void {
    this.folding ??= this.transaction((tx) => (tx as PgOps).foldUsageDeltas())
      .catch(() => {})
      .finally(() => {
        this.folding = null;
      });
  }

  /** Waits for a fold that is under way (for tests, and before the pool closes). */
  async settled(): Promise<void> {
    await this.folding;
  }

  async close(): Promise<void> {
    await this.folding;
    await this.pool.end();
  }
}
