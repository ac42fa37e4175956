import { Readable } from 'node:stream';
import type { Backend, Capacity, PositionalReader } from './backends/backend.js';
import type { BackendRegistry } from './backends/registry.js';
import type { BlobCache } from './blob-cache.js';
import { newInlineBlobKey } from './backends/blob-key.js';
import { readSmall } from './backends/inline.js';
import { newEtag } from './etag.js';
import { VfsError, notFound } from './errors.js';
import { assertLocksHeld, conflictingLock } from './lock-rules.js';
import type { LockManager } from './locks/lock-manager.js';
import { withLocks } from './locks/lock-manager.js';
import type { BlobRef, DeadProperty, LockRecord, MetadataOps, MetadataStore } from './metadata/store.js';
import { baseName, depthOf, isWithin, joinPath, normalizePath, parentOf } from './path.js';
import { R, W, X, allowed, isOwnerOrRoot, mayChangeGroup, requireAccess } from './permissions.js';
import { entryAt, type ByteRange, type Entry, type NodeRecord, type Principal } from './types.js';

export interface OpContext {
  principal: Principal;
  /** WebDAV lock tokens the request submitted (If header, or X-CallFS-Lock-Token). */
  lockTokens?: readonly string[];
}

export interface Preconditions {
  /** Strong ETags (unquoted) one of which the current version must have, or '*' for "exists". */
  ifMatch?: readonly string[] | '*';
  /** ETags none of which the current version may have, or '*' for "must not exist". */
  ifNoneMatch?: readonly string[] | '*';
}

export interface WriteFileOptions extends Preconditions {
  /** Fail with EXISTS when the path exists (REST POST). */
  createOnly?: boolean;
  /** Create missing parent directories (mkdir -p). */
  parents?: boolean;
  /** Declared body length; a shorter or longer body fails the write. */
  expectedSize?: number;
  /**
   * Aborts a write that streams to a backend; or a function that makes that signal, for a caller whose signal
   * costs something to make (an AbortController per request): only such a write asks for it. A body kept
   * inline ends with its stream, whose own close or error stops the read.
   */
  signal?: AbortSignal | (() => AbortSignal);
  /** Mode of a newly created file. */
  mode?: number;
  /** Modification time to record instead of now. */
  mtimeMs?: number;
  /** Owner and group to give the file, under chown's rules (see setAttributes). */
  owner?: Ownership;
}

export interface Ownership {
  uid?: number;
  gid?: number;
}

export interface WriteResult {
  entry: Entry;
  created: boolean;
}

export interface MoveOptions {
  overwrite?: boolean;
  parents?: boolean;
}

export interface CopyOptions extends MoveOptions {
  /** 0 copies a directory without its members. */
  depth?: 0 | 'infinity';
}

export interface SetAttrs {
  mode?: number;
  uid?: number;
  gid?: number;
  mtimeMs?: number;
}

export interface LockRequest {
  scope: LockRecord['scope'];
  depth: LockRecord['depth'];
  ownerXml: string | null;
  timeoutSeconds: number;
}

/** One pinned version of a file: `open` streams exactly what `entry` describes. */
export interface OpenedFile {
  entry: Entry;
  open: (range?: ByteRange) => Promise<Readable | Buffer>;
  /** The same version opened for reads at any offset, or null where its backend only streams (S3, inline, a peer's). */
  openPositional: () => Promise<PositionalReader | null>;
}

export interface ReadResult {
  entry: Entry;
  stream: Readable;
}

export interface VfsOptions {
  store: MetadataStore;
  backends: BackendRegistry;
  locks: LockManager;
  instanceId: string;
  now?: () => number;
  /** Receives failures that do not fail the request (an old blob that could not be removed). */
  onBackgroundError?: (err: unknown, context: string) => void;
  /** Upper bound on WebDAV lock timeouts, seconds. */
  maxLockTimeoutSeconds?: number;
  /** Bodies up to this many bytes (declared) bound for localfs are stored inline in the metadata store; 0 disables. */
  inlineMaxBytes?: number;
  /** Keeps small immutable blobs in memory (none when absent). */
  blobCache?: BlobCache;
  /** Finds the reader for a blob held elsewhere (internalproxy); defaults to the local backend. */
  remoteReader?: (node: NodeRecord) => Backend | null;
}

interface Located {
  path: string;
  chain: NodeRecord[];
  target: NodeRecord | null;
  parent: NodeRecord | null;
}

const DEFAULT_FILE_MODE = 0o644;
/** Entries fetched per query when a whole directory is walked: small batches are collected young. */
const LIST_BATCH = 100;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
const DEFAULT_DIR_MODE = 0o755;

/**
 * The filesystem semantics of CallFS. Every front end calls this and nothing
 * below it; every rule (paths, permissions, WebDAV locks, atomic writes,
 * rename/copy/delete) is checked here once.
 */
export class Vfs {
  readonly store: MetadataStore;
  readonly backends: BackendRegistry;
  readonly locks: LockManager;
  readonly instanceId: string;
  private readonly now: () => number;
  private readonly onBackgroundError: (err: unknown, context: string) => void;
  /** Removals of blobs that committed changes left without a file, still running (discardBlobs). */
  private readonly discarding = new Set<Promise<void>>();
  private readonly maxLockTimeout: number;
  private readonly remoteReader?: (node: NodeRecord) => Backend | null;
  private readonly blobCache?: BlobCache;
  private readonly inlineMaxBytes: number;

  constructor(options: VfsOptions) {
    this.store = options.store;
    this.backends = options.backends;
    this.locks = options.locks;
    this.instanceId = options.instanceId;
    this.now = options.now ?? Date.now;
    this.onBackgroundError = options.onBackgroundError ?? (() => {});
    this.maxLockTimeout = options.maxLockTimeoutSeconds ?? 7 * 24 * 3600;
    this.remoteReader = options.remoteReader;
    this.blobCache = options.blobCache;
    this.inlineMaxBytes = options.backends.has('inline') ? options.inlineMaxBytes ?? 0 : 0;
  }

  // ---------------------------------------------------------------- lookups

  /**
   * Resolves a path and checks search (x) permission on every directory on
   * the way. Missing names are not an error here.
   */
  private async locate(ops: MetadataOps, ctx: OpContext, rawPath: string): Promise<Located> {
    const path = normalizePath(rawPath);
    const chain = await ops.resolve(path);
    const depth = depthOf(path);
    const found = chain.length === depth + 1;
    // Search permission is needed on each directory that was traversed.
    const traversed = found ? chain.length - 1 : chain.length;
    for (let i = 0; i < traversed; i++) {
      const dir = chain[i]!;
      if (dir.type !== 'directory') break;
      // The directory's path is only spelt out for the refusal: most requests pass every check.
      if (!allowed(dir, ctx.principal, X)) requireAccess(dir, pathOfChain(chain, i), ctx.principal, X);
    }
    const target = found ? chain[depth]! : null;
    const parent = depth === 0 ? null : chain.length >= depth ? chain[depth - 1]! : null;
    return { path, chain, target, parent };
  }

  private async existing(ops: MetadataOps, ctx: OpContext, rawPath: string): Promise<Located & { target: NodeRecord }> {
    const loc = await this.locate(ops, ctx, rawPath);
    if (!loc.target) throw notFound(loc.path);
    return loc as Located & { target: NodeRecord };
  }

  async stat(ctx: OpContext, path: string): Promise<Entry> {
    const loc = await this.existing(this.store, ctx, path);
    return entryAt(loc.target, loc.path);
  }

  /** One page of a directory, in byte order of names, after `after`. */
  async list(ctx: OpContext, path: string, page: { after?: string; limit?: number } = {}): Promise<{ dir: Entry; entries: Entry[] }> {
    const loc = await this.existing(this.store, ctx, path);
    const dir = loc.target;
    this.requireListable(ctx, dir, loc.path);
    const rows = await this.store.children(dir.id, page);
    return { dir: entryAt(dir, loc.path), entries: rows.map((r) => entryAt(r, joinPath(loc.path, r.name))) };
  }

  /** What listing a directory requires of it and of the principal, for a caller that needs no members (HEAD). */
  requireListable(ctx: OpContext, dir: NodeRecord, path: string): void {
    if (dir.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `not a directory: ${path}`);
    requireAccess(dir, path, ctx.principal, R | X);
  }

  /** Every entry of a directory, fetched in batches so memory stays flat for huge directories. */
  async *iterate(ctx: OpContext, path: string, batch = LIST_BATCH): AsyncGenerator<Entry> {
    for await (const page of this.pages(ctx, path, batch)) yield* page;
  }

  /** The entries of a directory a batch at a time: for callers that handle a whole batch at once. */
  async *pages(ctx: OpContext, path: string, batch = LIST_BATCH): AsyncGenerator<Entry[]> {
    let after: string | undefined;
    while (true) {
      const { entries } = await this.list(ctx, path, { after, limit: batch });
      if (entries.length > 0) yield entries;
      if (entries.length < batch) return;
      after = entries[entries.length - 1]!.name;
    }
  }

  /**
   * Depth-first pre-order walk below `path` (not including it), yielding each
   * entry with its depth (1 = direct member). Directories the principal may
   * not list are yielded but not entered. Memory is one listing batch per level.
   */
  async *walk(ctx: OpContext, path: string, maxDepth = Infinity): AsyncGenerator<Entry & { depth: number }> {
    const root = await this.stat(ctx, path);
    if (root.type === 'directory') yield* this.walkBelow(ctx, root.path, 0, maxDepth);
  }

  private async *walkBelow(ctx: OpContext, dirPath: string, depth: number, maxDepth: number): AsyncGenerator<Entry & { depth: number }> {
    for await (const entry of this.iterate(ctx, dirPath)) {
      // The listing's entry is this walk's own: given its depth in place, not copied (see entryAt).
      const member = entry as Entry & { depth: number };
      member.depth = depth + 1;
      yield member;
      if (entry.type === 'directory' && depth + 1 < maxDepth && allowed(entry, ctx.principal, R | X)) {
        yield* this.walkBelow(ctx, entry.path, depth + 1, maxDepth);
      }
    }
  }

  async read(ctx: OpContext, path: string, range?: ByteRange): Promise<ReadResult> {
    const { entry, open } = await this.openForRead(ctx, path);
    const content = await open(range);
    return { entry, stream: Buffer.isBuffer(content) ? Readable.from([content]) : content };
  }

  /**
   * Checks read permission and pins one version of a file: `open` streams
   * exactly the version `entry` describes, even if the file is replaced
   * meanwhile (blobs are immutable), so headers and body always agree.
   */
  async openForRead(ctx: OpContext, path: string): Promise<OpenedFile> {
    return this.openEntry(ctx, await this.stat(ctx, path));
  }

  /** openForRead for an entry the caller has just stat'ed, without resolving its path again. */
  openEntry(ctx: OpContext, entry: Entry): OpenedFile {
    if (entry.type === 'directory') throw new VfsError('IS_A_DIRECTORY', `is a directory: ${entry.path}`, { path: entry.path });
    requireAccess(entry, entry.path, ctx.principal, R);
    return { entry, open: (range) => this.readContent(entry, range), openPositional: () => this.openPositional(entry) };
  }

  private async openPositional(node: NodeRecord): Promise<PositionalReader | null> {
    if (node.size === 0 || node.blobKey === null) return null;
    const reader = this.readerFor(node);
    return reader.openPositional ? reader.openPositional(node.blobKey) : null;
  }

  /** Streams the content of a file node (or a range of it). */
  async openContent(node: NodeRecord, range?: ByteRange): Promise<Readable> {
    const content = await this.readContent(node, range);
    return Buffer.isBuffer(content) ? Readable.from([content]) : content;
  }

  /**
   * The content of a file node: a Buffer when it is small enough for the
   * content cache (so a front end can send it in one write), else a stream.
   */
  async readContent(node: NodeRecord, range?: ByteRange): Promise<Readable | Buffer> {
    if (node.size === 0 || node.blobKey === null) return Buffer.alloc(0);
    const span = range ?? { start: 0, end: node.size - 1 };
    const cache = this.blobCache;
    if (cache && node.size <= cache.maxItemBytes && node.backend) {
      let content = cache.get(node.backend, node.blobKey);
      if (!content) {
        const reader = this.readerFor(node);
        content = reader.readWhole ? await reader.readWhole(node.blobKey) : await collect(await reader.read(node.blobKey, { start: 0, end: node.size - 1 }));
        if (content.length !== node.size) throw new VfsError('INTERNAL', `content of ${node.name} has ${content.length} bytes, metadata says ${node.size}`);
        cache.set(node.backend, node.blobKey, content);
      }
      return content.subarray(span.start, span.end + 1);
    }
    return this.readerFor(node).read(node.blobKey, span);
  }

  private readerFor(node: NodeRecord): Backend {
    const backend = this.backends.byName(node.backend ?? '');
    if (backend.nodeLocal && node.instanceId && node.instanceId !== this.instanceId) {
      const remote = this.remoteReader?.(node);
      if (!remote) {
        throw new VfsError('PEER_FAILED', `content is held by instance ${node.instanceId}, which this node cannot reach`, {
          instanceId: node.instanceId,
        });
      }
      return remote;
    }
    return backend;
  }

  // ---------------------------------------------------------------- locks (WebDAV)

  /** Locks that a change to `path` would have to respect. */
  private async locksFor(ops: MetadataOps, path: string, options: { descendants: boolean; membership: boolean }): Promise<LockRecord[]> {
    const now = this.now();
    const locks = await ops.locksAffecting(path, now, options.descendants);
    if (options.membership && path !== '/') {
      // A lock on a collection protects its membership: adding or removing a member needs its token.
      const parentLocks = await ops.locksAffecting(parentOf(path), now, false);
      for (const l of parentLocks) if (!locks.some((x) => x.token === l.token)) locks.push(l);
    }
    return locks;
  }

  private async checkLocks(ops: MetadataOps, ctx: OpContext, path: string, options: { descendants: boolean; membership: boolean }): Promise<void> {
    assertLocksHeld(await this.locksFor(ops, path, options), ctx.lockTokens, ctx.principal, path);
  }

  /** Locks covering `path` (on it, or depth-infinity on an ancestor): DAV:lockdiscovery. */
  async activeLocks(path: string): Promise<LockRecord[]> {
    return this.store.locksAffecting(normalizePath(path), this.now(), false);
  }

  /** Locks at or below `path` (for the If header's lock-token checks on a tree). */
  async locksInTree(path: string): Promise<LockRecord[]> {
    return this.store.locksAffecting(normalizePath(path), this.now(), true);
  }

  async getLock(token: string): Promise<LockRecord | null> {
    const lock = await this.store.getLock(token);
    return lock && lock.expiresAtMs > this.now() ? lock : null;
  }

  /**
   * Takes a WebDAV lock. An unmapped path becomes an empty file (RFC 4918
   * §7.3); `created` says so. Conflicting locks are LOCKED.
   */
  async lock(ctx: OpContext, rawPath: string, request: LockRequest): Promise<{ lock: LockRecord; created: boolean; entry: Entry }> {
    const path = normalizePath(rawPath);
    const timeout = Math.max(1, Math.min(request.timeoutSeconds, this.maxLockTimeout));
    return withLocks(this.locks, [path], () =>
      this.store.transaction(async (tx) => {
        const now = this.now();
        await tx.deleteExpiredLocks(now);
        const loc = await this.locate(tx, ctx, path);
        const existing = await tx.locksAffecting(path, now, request.depth === 'infinity');
        const conflict = conflictingLock(existing, request.scope);
        if (conflict) throw new VfsError('LOCKED', `${path} is already locked`, { path, lockRoot: conflict.path });
        let created = false;
        let node = loc.target;
        if (!node) {
          const parent = this.requireParent(loc);
          requireAccess(parent, parentOf(path), ctx.principal, W | X);
          node = await this.insertNode(tx, ctx, parent, path, 'file', { mode: DEFAULT_FILE_MODE, now });
          created = true;
        } else {
          requireAccess(node, path, ctx.principal, W);
        }
        const lock: LockRecord = {
          token: `urn:uuid:${crypto.randomUUID()}`,
          path,
          depth: request.depth,
          scope: request.scope,
          ownerXml: request.ownerXml,
          principal: ctx.principal.name,
          timeoutSeconds: timeout,
          createdAtMs: now,
          expiresAtMs: now + timeout * 1000,
        };
        await tx.insertLock(lock);
        return { lock, created, entry: entryAt(node, path) };
      }),
    );
  }

  /** Refreshes a lock that applies to `path`; PRECONDITION_FAILED when the token does not. */
  async refreshLock(ctx: OpContext, rawPath: string, token: string, timeoutSeconds: number): Promise<LockRecord> {
    const path = normalizePath(rawPath);
    const lock = await this.getLock(token);
    if (!lock || !lockCovers(lock, path)) throw new VfsError('PRECONDITION_FAILED', 'the lock token does not apply to this resource', { path });
    if (ctx.principal.uid !== 0 && lock.principal !== ctx.principal.name) throw new VfsError('PERMISSION_DENIED', 'the lock belongs to another principal', { path });
    const timeout = Math.max(1, Math.min(timeoutSeconds, this.maxLockTimeout));
    const refreshed = await this.store.refreshLock(token, timeout, this.now() + timeout * 1000);
    if (!refreshed) throw new VfsError('PRECONDITION_FAILED', 'the lock expired', { path });
    return refreshed;
  }

  async unlock(ctx: OpContext, rawPath: string, token: string): Promise<void> {
    const path = normalizePath(rawPath);
    const lock = await this.getLock(token);
    if (!lock || !lockCovers(lock, path)) throw new VfsError('INVALID_ARGUMENT', 'the lock token does not apply to this resource', { path, reason: 'lock-token-matches-request-uri' });
    if (ctx.principal.uid !== 0 && lock.principal !== ctx.principal.name) throw new VfsError('PERMISSION_DENIED', 'the lock belongs to another principal', { path });
    await this.store.deleteLock(token);
  }

  // ---------------------------------------------------------------- writes

  private requireParent(loc: Located): NodeRecord {
    const parent = loc.parent;
    if (!parent) {
      // The chain stopped early: either a directory on the way is missing or it is a file.
      const last = loc.chain[loc.chain.length - 1];
      if (last && last.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `a component of ${loc.path} is a file`, { path: loc.path });
      throw new VfsError('PARENT_NOT_FOUND', `parent directory of ${loc.path} does not exist`, { path: loc.path });
    }
    if (parent.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `parent of ${loc.path} is not a directory`, { path: loc.path });
    return parent;
  }

  private checkPreconditions(target: NodeRecord | null, pre: Preconditions, path: string): void {
    const { ifMatch, ifNoneMatch } = pre;
    if (ifMatch !== undefined) {
      if (!target || (ifMatch !== '*' && !ifMatch.includes(target.etag))) {
        throw new VfsError('PRECONDITION_FAILED', `If-Match failed for ${path}`, { path });
      }
    }
    if (ifNoneMatch !== undefined && target) {
      if (ifNoneMatch === '*' || ifNoneMatch.includes(target.etag)) {
        throw new VfsError('PRECONDITION_FAILED', `If-None-Match failed for ${path}`, { path, etag: target.etag });
      }
    }
  }

  /**
   * Everything that can be known before the body is read: so that a write
   * that is going to fail does so before gigabytes are stored.
   */
  private async checkWrite(ops: MetadataOps, ctx: OpContext, path: string, options: WriteFileOptions): Promise<Located> {
    if (path === '/') throw new VfsError('IS_A_DIRECTORY', 'the root is a directory', { path });
    const loc = await this.locate(ops, ctx, path);
    const target = loc.target;
    if (target) {
      if (options.createOnly) throw this.existsError(target, path);
      if (target.type === 'directory') throw new VfsError('IS_A_DIRECTORY', `is a directory: ${path}`, { path });
      this.checkPreconditions(target, options, path);
      requireAccess(target, path, ctx.principal, W);
      if (options.owner) requireOwnershipChange(target, ctx.principal, options.owner, path);
      await this.checkLocks(ops, ctx, path, { descendants: false, membership: false });
    } else {
      this.checkPreconditions(null, options, path);
      if (!(options.parents && !loc.parent)) {
        const parent = this.requireParent(loc);
        requireAccess(parent, parentOf(path), ctx.principal, W | X);
        // (Checked again where the node is made, which also knows parents that mkdir -p creates.)
        if (options.owner) requireOwnershipChange({ uid: ctx.principal.uid, gid: newNodeGid(parent, ctx.principal) }, ctx.principal, options.owner, path);
      }
      await this.checkLocks(ops, ctx, path, { descendants: false, membership: true });
    }
    return loc;
  }

  existsError(node: NodeRecord, path: string): VfsError {
    return new VfsError('EXISTS', `${path} already exists`, {
      path,
      instanceId: node.instanceId ?? this.instanceId,
      backendType: node.backend ? this.backends.byName(node.backend).type : node.type === 'directory' ? 'directory' : 'none',
    });
  }

  /**
   * Atomic create-or-replace: the body streams into a new blob, the metadata
   * row is switched to it in one transaction, then the old blob is removed.
   * Readers see the old version or the new one, never a mix.
   */
  async writeFile(ctx: OpContext, rawPath: string, body: Readable, options: WriteFileOptions = {}): Promise<WriteResult> {
    const path = normalizePath(rawPath);
    const target = this.backends.forPath(path);
    // A small body headed for node-local disk is kept in the metadata store, written by the
    // same transaction as its row: no file, no separate fsync, readable from every node.
    const inline = options.expectedSize !== undefined && options.expectedSize > 0 && options.expectedSize <= this.inlineMaxBytes && target.backend.type === 'localfs';
    // A body that is empty or small enough to keep inline costs less to read than the checks cost to run
    // twice: the transaction runs them anyway before anything is stored.
    if (!inline && options.expectedSize !== 0) await this.checkWrite(this.store, ctx, path, options);
    const { name: backendName, backend } = inline ? { name: 'inline', backend: this.backends.byName('inline') } : target;
    const blob: { key: string | null; size: number; inlineData?: Buffer } =
      options.expectedSize === 0
        ? await drainEmpty(body)
        : inline
          ? await readSmall(body, this.inlineMaxBytes, { expectedSize: options.expectedSize }).then((data) => ({ key: newInlineBlobKey(), size: data.length, inlineData: data }))
          : await backend.write(body, { signal: typeof options.signal === 'function' ? options.signal() : options.signal, expectedSize: options.expectedSize });
    let result: { entry: Entry; created: boolean; old: BlobRef | null };
    try {
      result = await withLocks(this.locks, [path], () =>
        this.store.transaction(async (tx) => {
          const loc = await this.checkWrite(tx, ctx, path, options);
          if (blob.inlineData && blob.key) await tx.putInlineBlob(blob.key, blob.inlineData);
          const now = this.now();
          const mtimeMs = options.mtimeMs ?? now;
          const content = blob.key === null
            ? { size: 0, blobKey: null, backend: null, instanceId: null, etag: newEtag('f') }
            : { size: blob.size, blobKey: blob.key, backend: backendName, instanceId: backend.nodeLocal ? this.instanceId : null, etag: newEtag('f') };
          const target = loc.target;
          if (target) {
            const old = target.blobKey && target.backend
              ? { nodeId: target.id, backend: target.backend, blobKey: target.blobKey, size: target.size, instanceId: target.instanceId }
              : null;
            // Written out: a spread plus fields takes V8's slow path (microseconds, on every overwrite).
            const c = content;
            const owner = options.owner;
            const updated = await tx.update(target.id, { size: c.size, blobKey: c.blobKey, backend: c.backend, instanceId: c.instanceId, etag: c.etag, uid: owner?.uid, gid: owner?.gid, mtimeMs, ctimeMs: now });
            return { entry: entryAt(updated, path), created: false, old: old && ((await this.dropInlineBlobs(tx, [old]))[0] ?? null) };
          }
          const parent = loc.parent ?? (await this.mkdirs(tx, ctx, parentOf(path), now));
          const node = await this.insertNode(tx, ctx, parent, path, 'file', { mode: options.mode ?? DEFAULT_FILE_MODE, now, mtimeMs, content, owner: options.owner });
          return { entry: entryAt(node, path), created: true, old: null };
        }),
      );
    } catch (err) {
      // An inline blob was part of the transaction that failed: nothing to remove.
      if (blob.key !== null && !blob.inlineData) await backend.delete(blob.key).catch((e) => this.onBackgroundError(e, `removing uncommitted blob ${blob.key}`));
      throw err;
    }
    // Files are often read back soon after they are written (builds, syncs that verify).
    if (blob.inlineData && blob.key) this.blobCache?.set(backendName, blob.key, blob.inlineData);
    if (result.old) this.discardBlobs([result.old]);
    return { entry: result.entry, created: result.created };
  }

  private async insertNode(
    tx: MetadataOps,
    ctx: OpContext,
    parent: NodeRecord,
    path: string,
    type: 'file' | 'directory',
    opts: { mode: number; now: number; mtimeMs?: number; content?: Pick<NodeRecord, 'size' | 'blobKey' | 'backend' | 'instanceId' | 'etag'>; owner?: Ownership },
  ): Promise<NodeRecord> {
    const made = { uid: ctx.principal.uid, gid: newNodeGid(parent, ctx.principal) };
    if (opts.owner) requireOwnershipChange(made, ctx.principal, opts.owner, path);
    const uid = opts.owner?.uid ?? made.uid;
    const gid = opts.owner?.gid ?? made.gid;
    const node = await tx.insert({
      parentId: parent.id,
      name: baseName(path),
      type,
      size: opts.content?.size ?? 0,
      mode: opts.mode & 0o7777,
      uid,
      gid,
      mtimeMs: opts.mtimeMs ?? opts.now,
      ctimeMs: opts.now,
      btimeMs: opts.now,
      etag: opts.content?.etag ?? newEtag(type === 'file' ? 'f' : 'd'),
      blobKey: opts.content?.blobKey ?? null,
      backend: opts.content?.backend ?? null,
      instanceId: opts.content?.instanceId ?? null,
    });
    await this.touchDir(tx, parent.id, opts.now);
    return node;
  }

  /** A directory's mtime and ETag change when its membership does. */
  private async touchDir(tx: MetadataOps, dirId: number, now: number): Promise<void> {
    await tx.update(dirId, { mtimeMs: now, ctimeMs: now, etag: newEtag('d') });
  }

  /** mkdir -p inside a transaction; returns the directory at `path`. */
  private async mkdirs(tx: MetadataOps, ctx: OpContext, path: string, now: number): Promise<NodeRecord> {
    const loc = await this.locate(tx, ctx, path);
    if (loc.target) {
      if (loc.target.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `${path} is not a directory`, { path });
      return loc.target;
    }
    let dir = loc.chain[loc.chain.length - 1]!;
    if (dir.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `a component of ${path} is a file`, { path });
    const names = path.split('/').slice(loc.chain.length);
    let current = pathOfChain(loc.chain, loc.chain.length - 1);
    for (const name of names) {
      requireAccess(dir, current, ctx.principal, W | X);
      current = joinPath(current, name);
      await this.checkLocks(tx, ctx, current, { descendants: false, membership: true });
      dir = await this.insertNode(tx, ctx, dir, current, 'directory', { mode: DEFAULT_DIR_MODE, now });
    }
    return dir;
  }

  async mkdir(ctx: OpContext, rawPath: string, options: { parents?: boolean; mode?: number } = {}): Promise<Entry> {
    const path = normalizePath(rawPath);
    return withLocks(this.locks, [path], () =>
      this.store.transaction(async (tx) => {
        const loc = await this.locate(tx, ctx, path);
        const now = this.now();
        if (loc.target) {
          if (options.parents && loc.target.type === 'directory') return entryAt(loc.target, path);
          throw this.existsError(loc.target, path);
        }
        let parent = loc.parent;
        if (!parent) {
          if (!options.parents) this.requireParent(loc);
          parent = await this.mkdirs(tx, ctx, parentOf(path), now);
        }
        if (parent.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `parent of ${path} is not a directory`, { path });
        requireAccess(parent, parentOf(path), ctx.principal, W | X);
        await this.checkLocks(tx, ctx, path, { descendants: false, membership: true });
        const node = await this.insertNode(tx, ctx, parent, path, 'directory', { mode: options.mode ?? DEFAULT_DIR_MODE, now });
        return entryAt(node, path);
      }),
    );
  }

  /** Deletes a file or directory; a non-empty directory needs `recursive`. */
  async remove(ctx: OpContext, rawPath: string, options: { recursive?: boolean } & Preconditions = {}): Promise<Entry> {
    const path = normalizePath(rawPath);
    if (path === '/') throw new VfsError('PERMISSION_DENIED', 'the root directory cannot be deleted', { path });
    const { entry, blobs } = await withLocks(this.locks, [path], () =>
      this.store.transaction(async (tx) => {
        const loc = await this.existing(tx, ctx, path);
        const node = loc.target;
        this.checkPreconditions(node, options, path);
        requireAccess(loc.parent!, parentOf(path), ctx.principal, W | X);
        await this.checkLocks(tx, ctx, path, { descendants: node.type === 'directory', membership: true });
        if (node.type === 'directory' && (await tx.hasChildren(node.id))) {
          if (!options.recursive) throw new VfsError('NOT_EMPTY', `directory not empty: ${path}`, { path });
          await this.requireTreeWritable(tx, ctx, node, path);
        }
        const blobs = await this.dropInlineBlobs(tx, await tx.removeTree(node.id));
        await tx.deleteLocksUnder(path);
        await this.touchDir(tx, loc.parent!.id, this.now());
        return { entry: entryAt(node, path), blobs };
      }),
    );
    this.discardBlobs(blobs);
    return entry;
  }

  /** rm -r needs write and search permission on every directory it empties. */
  private async requireTreeWritable(tx: MetadataOps, ctx: OpContext, dir: NodeRecord, path: string): Promise<void> {
    if (ctx.principal.uid === 0) return;
    const stack: Array<[NodeRecord, string]> = [[dir, path]];
    while (stack.length) {
      const [node, nodePath] = stack.pop()!;
      requireAccess(node, nodePath, ctx.principal, W | X | R);
      for (const child of await tx.children(node.id)) {
        if (child.type === 'directory') stack.push([child, joinPath(nodePath, child.name)]);
      }
    }
  }

  /**
   * Deletes the blobs kept in the metadata store in the transaction that drops their last reference: no write
   * of its own after the commit (one per file, for a tree), and none left behind should the process stop in
   * between. Returns the other blobs, which leave their backends once the transaction has committed.
   */
  private async dropInlineBlobs(tx: MetadataOps, blobs: readonly BlobRef[]): Promise<BlobRef[]> {
    const elsewhere: BlobRef[] = [];
    for (const blob of blobs) {
      // A backend no longer configured is not an error here: discardBlobs reports it once the change has committed.
      if (!this.backends.has(blob.backend) || this.backends.byName(blob.backend).type !== 'inline') {
        elsewhere.push(blob);
        continue;
      }
      await tx.deleteInlineBlob(blob.blobKey);
      // Keys are never reused: dropping the copy in memory now is safe even if the transaction rolls back.
      this.blobCache?.delete(blob.backend, blob.blobKey);
    }
    return elsewhere;
  }

  /**
   * Removes blobs that no file refers to any more, behind the answer: the change they belonged to is
   * durable once committed, and a large blob's removal can take long (a 1 GiB unlink took 380 ms on
   * ext4 mounted with `discard`; S3 is a request per object). Keys are never reused, so a late
   * removal cannot touch newer content; should the process stop first, fsck's sweeper collects them.
   */
  private discardBlobs(blobs: readonly BlobRef[]): void {
    if (blobs.length === 0) return;
    const removal: Promise<void> = this.removeBlobs(blobs).finally(() => this.discarding.delete(removal));
    this.discarding.add(removal);
  }

  /** Resolves once the blobs of replaced and deleted files have left their backends (close waits for it). */
  async settled(): Promise<void> {
    while (this.discarding.size > 0) await Promise.all(this.discarding);
  }

  private async removeBlobs(blobs: readonly BlobRef[]): Promise<void> {
    for (const blob of blobs) {
      try {
        const backend = this.backends.byName(blob.backend);
        if (backend.nodeLocal && blob.instanceId && blob.instanceId !== this.instanceId) {
          // Another node's disk: its sweeper (fsck) collects the orphan.
          continue;
        }
        this.blobCache?.delete(blob.backend, blob.blobKey);
        await backend.delete(blob.blobKey);
      } catch (err) {
        this.onBackgroundError(err, `removing blob ${blob.blobKey} of a deleted or replaced file`);
      }
    }
  }

  /** Validates a move or copy and returns the destination's state. */
  private async prepareTransfer(tx: MetadataOps, ctx: OpContext, src: string, dst: string, options: MoveOptions) {
    if (isWithin(dst, src) && dst !== src) throw new VfsError('INVALID_ARGUMENT', `cannot move or copy ${src} into itself`, { path: dst });
    const from = await this.existing(tx, ctx, src);
    const to = await this.locate(tx, ctx, dst);
    if (to.target && !options.overwrite) throw this.existsError(to.target, dst);
    return { from, to };
  }

  /**
   * Rename or move: a metadata change only, O(1) in the size of the tree,
   * unless backend mounts put the destination in another backend.
   */
  async move(ctx: OpContext, rawSrc: string, rawDst: string, options: MoveOptions = {}): Promise<{ entry: Entry; replaced: boolean }> {
    const src = normalizePath(rawSrc);
    const dst = normalizePath(rawDst);
    if (src === '/') throw new VfsError('PERMISSION_DENIED', 'the root directory cannot be moved', { path: src });
    if (src === dst) return { entry: await this.stat(ctx, src), replaced: false };
    // Content whose backend differs from the one its new path maps to is copied first, outside any transaction.
    const relocations = await this.relocateContent(ctx, src, dst, options);
    const { entry, replaced, blobs } = await withLocks(this.locks, [src, dst], () =>
      this.store.transaction(async (tx) => {
        const { from, to } = await this.prepareTransfer(tx, ctx, src, dst, options);
        const now = this.now();
        requireAccess(from.parent!, parentOf(src), ctx.principal, W | X);
        await this.checkLocks(tx, ctx, src, { descendants: true, membership: true });
        await this.checkLocks(tx, ctx, dst, { descendants: true, membership: true });
        let blobs: BlobRef[] = [];
        let parent = to.parent;
        if (to.target) {
          requireAccess(to.parent!, parentOf(dst), ctx.principal, W | X);
          if (to.target.type === 'directory' && (await tx.hasChildren(to.target.id))) await this.requireTreeWritable(tx, ctx, to.target, dst);
          blobs = await this.dropInlineBlobs(tx, await tx.removeTree(to.target.id));
          await tx.deleteLocksUnder(dst);
        } else {
          if (!parent) {
            if (!options.parents) this.requireParent(to);
            parent = await this.mkdirs(tx, ctx, parentOf(dst), now);
          }
          if (parent.type !== 'directory') throw new VfsError('NOT_A_DIRECTORY', `parent of ${dst} is not a directory`, { path: dst });
          requireAccess(parent, parentOf(dst), ctx.principal, W | X);
        }
        const moved = await tx.move(from.target.id, parent!.id, baseName(dst), now);
        await tx.deleteLocksUnder(src);
        await this.touchDir(tx, from.parent!.id, now);
        if (parent!.id !== from.parent!.id) await this.touchDir(tx, parent!.id, now);
        for (const r of relocations) {
          const current = await tx.get(r.old.nodeId);
          if (current?.blobKey !== r.old.blobKey) throw new VfsError('BUSY', `a file under ${src} changed while its content was being moved; retry`, { path: src, retryAfter: 1 });
          await tx.update(r.old.nodeId, r.content);
        }
        const relocated = await this.dropInlineBlobs(tx, relocations.map((r) => r.old));
        return { entry: entryAt(moved, dst), replaced: to.target !== null, blobs: [...blobs, ...relocated] };
      }),
    ).catch((err: unknown) => {
      this.discardBlobs(relocations.map((r) => r.copy));
      throw err;
    });
    this.discardBlobs(blobs);
    return { entry, replaced };
  }

  /**
   * For a move across backend mounts: copies each file's content that would
   * end up in the wrong backend into the one its destination path maps to.
   * Nothing is committed here; the caller switches the nodes to the copies in
   * the move's transaction, so the source disappears only once every copy is
   * complete, and discards the old blobs after.
   */
  private async relocateContent(ctx: OpContext, src: string, dst: string, options: MoveOptions) {
    type Relocation = { old: BlobRef; copy: BlobRef; content: Pick<NodeRecord, 'blobKey' | 'backend' | 'instanceId' | 'size'> };
    const relocations: Relocation[] = [];
    // Source and destination trees map to one and the same backend: nothing to relocate, and no walk
    // (content placed under an older mount layout stays where it is until a move changes its backend).
    const sameBackend = this.backends.forPath(src).name === this.backends.forPath(dst).name;
    if (sameBackend && this.backends.uniformBelow(src) && this.backends.uniformBelow(dst)) return relocations;
    const { from } = await this.prepareTransfer(this.store, ctx, src, dst, options);
    requireAccess(from.parent!, parentOf(src), ctx.principal, W | X);
    const stack: Array<[NodeRecord, string]> = [[from.target, dst]];
    try {
      while (stack.length) {
        const [node, path] = stack.pop()!;
        if (node.type === 'directory') {
          for (const child of await this.store.children(node.id)) stack.push([child, joinPath(path, child.name)]);
          continue;
        }
        if (!node.blobKey || !node.backend) continue;
        if (this.backends.mayStay(node.backend, path)) continue;
        const { name, backend } = this.backends.forPath(path);
        const stored = await backend.write(await this.openContent(node), { expectedSize: node.size });
        const content = { blobKey: stored.key, backend: name, instanceId: backend.nodeLocal ? this.instanceId : null, size: stored.size };
        relocations.push({
          old: { nodeId: node.id, backend: node.backend, blobKey: node.blobKey, size: node.size, instanceId: node.instanceId },
          copy: { nodeId: node.id, backend: name, blobKey: stored.key, size: stored.size, instanceId: content.instanceId },
          content,
        });
      }
    } catch (err) {
      this.discardBlobs(relocations.map((r) => r.copy));
      throw err;
    }
    return relocations;
  }

  /**
   * Copies a file or tree. Content is copied blob by blob before anything is
   * committed; the destination appears in one transaction.
   */
  async copy(ctx: OpContext, rawSrc: string, rawDst: string, options: CopyOptions = {}): Promise<{ entry: Entry; replaced: boolean }> {
    const src = normalizePath(rawSrc);
    const dst = normalizePath(rawDst);
    if (src === dst) throw new VfsError('INVALID_ARGUMENT', 'source and destination are the same', { path: dst });
    // Phase 1, outside any transaction: snapshot the source tree and copy its content.
    const { from } = await this.prepareTransfer(this.store, ctx, src, dst, options);
    const plan = await this.planCopy(ctx, from.target, src, options.depth ?? 'infinity');
    const copied: Array<{ backend: Backend; key: string }> = [];
    try {
      for (const item of plan) {
        if (item.node.type !== 'file' || !item.node.blobKey) continue;
        const target = item.relative === '' ? dst : joinPath(dst, item.relative);
        const held = this.backends.byName(item.node.backend!);
        // Same backend, and the blob is here (not on another node): a backend-side copy.
        const inPlace = this.backends.mayStay(item.node.backend!, target) && this.readerFor(item.node) === held;
        const { name, backend } = inPlace ? { name: item.node.backend!, backend: held } : this.backends.forPath(target);
        const stored = inPlace ? await backend.copy(item.node.blobKey) : await backend.write(await this.openContent(item.node), { expectedSize: item.node.size });
        copied.push({ backend, key: stored.key });
        item.content = { size: stored.size, blobKey: stored.key, backend: name, instanceId: backend.nodeLocal ? this.instanceId : null, etag: newEtag('f') };
      }
      // Phase 2: commit the whole destination at once.
      const result = await withLocks(this.locks, [dst], () =>
        this.store.transaction(async (tx) => {
          const { to } = await this.prepareTransfer(tx, ctx, src, dst, options);
          const now = this.now();
          await this.checkLocks(tx, ctx, dst, { descendants: true, membership: true });
          let blobs: BlobRef[] = [];
          let parent = to.parent;
          if (to.target) {
            requireAccess(to.parent!, parentOf(dst), ctx.principal, W | X);
            blobs = await this.dropInlineBlobs(tx, await tx.removeTree(to.target.id));
            await tx.deleteLocksUnder(dst);
          } else if (!parent) {
            if (!options.parents) this.requireParent(to);
            parent = await this.mkdirs(tx, ctx, parentOf(dst), now);
          }
          requireAccess(parent!, parentOf(dst), ctx.principal, W | X);
          const ids = new Map<string, NodeRecord>();
          let top: NodeRecord | null = null;
          for (const item of plan) {
            const target = item.relative === '' ? dst : joinPath(dst, item.relative);
            const into = item.relative === '' ? parent! : ids.get(parentOf(target))!;
            const created = await this.insertNode(tx, ctx, into, target, item.node.type, {
              mode: item.node.mode,
              now,
              mtimeMs: item.node.mtimeMs,
              content: item.node.type === 'file' ? item.content ?? { size: 0, blobKey: null, backend: null, instanceId: null, etag: newEtag('f') } : undefined,
            });
            await tx.copyProperties(item.node.id, created.id);
            if (created.type === 'directory') ids.set(target, created);
            top ??= created;
          }
          return { entry: entryAt(top!, dst), replaced: to.target !== null, blobs };
        }),
      );
      this.discardBlobs(result.blobs);
      return { entry: result.entry, replaced: result.replaced };
    } catch (err) {
      for (const c of copied) await c.backend.delete(c.key).catch((e) => this.onBackgroundError(e, `removing uncommitted copy ${c.key}`));
      throw err;
    }
  }

  private async planCopy(ctx: OpContext, node: NodeRecord, path: string, depth: 0 | 'infinity') {
    type Item = { node: NodeRecord; relative: string; content?: Pick<NodeRecord, 'size' | 'blobKey' | 'backend' | 'instanceId' | 'etag'> };
    requireAccess(node, path, ctx.principal, node.type === 'directory' ? R | X : R);
    const plan: Item[] = [{ node, relative: '' }];
    if (node.type !== 'directory' || depth === 0) return plan;
    for await (const entry of this.walk(ctx, path)) {
      requireAccess(entry, entry.path, ctx.principal, entry.type === 'directory' ? R | X : R);
      plan.push({ node: entry, relative: entry.path.slice(path === '/' ? 1 : path.length + 1) });
    }
    return plan;
  }

  /** chmod, chown, chgrp and utimes in one call. */
  async setAttributes(ctx: OpContext, rawPath: string, attrs: SetAttrs): Promise<Entry> {
    const path = normalizePath(rawPath);
    return withLocks(this.locks, [path], () =>
      this.store.transaction(async (tx) => {
        const loc = await this.existing(tx, ctx, path);
        const node = loc.target;
        const p = ctx.principal;
        if (attrs.mode !== undefined) {
          if (!Number.isInteger(attrs.mode) || attrs.mode < 0 || attrs.mode > 0o7777) throw new VfsError('INVALID_ARGUMENT', 'mode must be between 0000 and 7777 (octal)');
          if (!isOwnerOrRoot(node, p)) throw new VfsError('PERMISSION_DENIED', `only the owner may chmod ${path}`, { path });
        }
        requireOwnershipChange(node, p, attrs, path);
        if (attrs.mtimeMs !== undefined) {
          if (!Number.isFinite(attrs.mtimeMs)) throw new VfsError('INVALID_ARGUMENT', 'mtime is not a valid time');
          if (!isOwnerOrRoot(node, p) && !allowed(node, p, W)) throw new VfsError('PERMISSION_DENIED', `may not set the time of ${path}`, { path });
        }
        await this.checkLocks(tx, ctx, path, { descendants: false, membership: false });
        const updated = await tx.update(node.id, {
          mode: attrs.mode,
          uid: attrs.uid,
          gid: attrs.gid,
          mtimeMs: attrs.mtimeMs === undefined ? undefined : Math.round(attrs.mtimeMs),
          ctimeMs: this.now(),
        });
        return entryAt(updated, path);
      }),
    );
  }

  // ---------------------------------------------------------------- dead properties

  async getProperties(ctx: OpContext, path: string): Promise<DeadProperty[]> {
    const entry = await this.stat(ctx, path);
    requireAccess(entry, entry.path, ctx.principal, R);
    return this.store.getProperties(entry.id);
  }

  /** Dead properties of an entry already resolved by stat/iterate/walk (PROPFIND over many entries). */
  /** Which of these entries hold dead properties, so a listing asks propertiesOf only for those. */
  async propertyHolders(entries: readonly Entry[]): Promise<Set<number>> {
    return this.store.propertyHolders(entries.map((e) => e.id));
  }

  async propertiesOf(ctx: OpContext, entry: Entry): Promise<DeadProperty[]> {
    requireAccess(entry, entry.path, ctx.principal, R);
    return this.store.getProperties(entry.id);
  }

  /** Number of nodes in the tree at `path`, itself included, counted up to `atMost` (bounds a WebDAV Depth: infinity PROPFIND). */
  async countTree(ctx: OpContext, path: string, atMost: number): Promise<number> {
    const entry = await this.stat(ctx, path);
    return this.store.countTree(entry.id, atMost);
  }

  /** Sets and removes dead properties atomically: all or nothing. */
  async patchProperties(ctx: OpContext, rawPath: string, set: DeadProperty[], remove: Array<Pick<DeadProperty, 'namespace' | 'name'>>): Promise<Entry> {
    const path = normalizePath(rawPath);
    return this.store.transaction(async (tx) => {
      const loc = await this.existing(tx, ctx, path);
      if (!isOwnerOrRoot(loc.target, ctx.principal) && !allowed(loc.target, ctx.principal, W)) {
        throw new VfsError('PERMISSION_DENIED', `may not change properties of ${path}`, { path });
      }
      await this.checkLocks(tx, ctx, path, { descendants: false, membership: false });
      await tx.patchProperties(loc.target.id, set, remove);
      return entryAt(loc.target, path);
    });
  }

  /**
   * Size and free space of where the root's content is stored; null for a backend without a fixed size
   * (S3), and when the disk cannot be asked (the figures are advisory: a listing that shows them must not fail).
   */
  async capacity(): Promise<Capacity | null> {
    const { backend } = this.backends.forPath('/');
    if (!backend.capacity) return null;
    return backend.capacity().catch((err: unknown) => {
      this.onBackgroundError(err, 'asking the disk for its size and free space');
      return null;
    });
  }

  /** Bytes of content stored (RFC 4331 quota-used-bytes). */
  usedBytes(): Promise<number> {
    return this.store.usedBytes();
  }

  async close(): Promise<void> {
    await this.settled();
    await this.locks.close();
    await this.backends.close();
    await this.store.close();
  }
}

/** A body declared empty needs no blob; it is still read, so that extra bytes are an error rather than ignored. */
async function drainEmpty(body: Readable): Promise<{ key: null; size: 0 }> {
  for await (const chunk of body) {
    if ((chunk as Buffer).length > 0) throw new VfsError('INVALID_ARGUMENT', 'body is longer than the declared 0 bytes');
  }
  return { key: null, size: 0 };
}

function pathOfChain(chain: readonly NodeRecord[], index: number): string {
  if (index === 0) return '/';
  return '/' + chain.slice(1, index + 1).map((n) => n.name).join('/');
}

function lockCovers(lock: LockRecord, path: string): boolean {
  return lock.path === path || (lock.depth === 'infinity' && isWithin(path, lock.path));
}

/** New nodes inherit the group of a setgid directory, as on Unix; otherwise they get their creator's. */
function newNodeGid(parent: NodeRecord, principal: Principal): number {
  return parent.mode & 0o2000 ? parent.gid : principal.gid;
}

/** chown's rules: only root gives a node to another user; root, or the owner to a group of theirs, changes its group. */
function requireOwnershipChange(node: Pick<NodeRecord, 'uid' | 'gid'>, principal: Principal, owner: Ownership, path: string): void {
  for (const id of [owner.uid, owner.gid]) {
    if (id !== undefined && (!Number.isInteger(id) || id < 0 || id > 0xffffffff)) throw new VfsError('INVALID_ARGUMENT', 'uid and gid must be integers between 0 and 4294967295');
  }
  if (owner.uid !== undefined && owner.uid !== node.uid && principal.uid !== 0) throw new VfsError('PERMISSION_DENIED', 'only root may change the owner', { path });
  if (owner.gid !== undefined && owner.gid !== node.gid && !mayChangeGroup(node, principal, owner.gid)) {
    throw new VfsError('PERMISSION_DENIED', 'only root, or the owner to a group of theirs, may change the group', { path });
  }
}
