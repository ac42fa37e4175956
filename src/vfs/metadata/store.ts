import type { NodeRecord, NodeType } from '../types.js';

/** Attributes of a node to be created; the store assigns `id`. */
export interface NewNode {
  parentId: number;
  name: string;
  type: NodeType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  ctimeMs: number;
  btimeMs: number;
  etag: string;
  blobKey: string | null;
  backend: string | null;
  instanceId: string | null;
}

export type NodePatch = Partial<
  Pick<NodeRecord, 'size' | 'mode' | 'uid' | 'gid' | 'mtimeMs' | 'ctimeMs' | 'etag' | 'blobKey' | 'backend' | 'instanceId'>
>;

export interface BlobRef {
  nodeId: number;
  backend: string;
  blobKey: string;
  size: number;
  instanceId: string | null;
}

/** A WebDAV dead property. `value` is the property element's serialised XML, kept verbatim. */
export interface DeadProperty {
  namespace: string;
  name: string;
  value: string;
}

export type LockScope = 'exclusive' | 'shared';

/** A WebDAV lock. Locks are keyed by path, not node, because they may cover unmapped URLs. */
export interface LockRecord {
  token: string;
  path: string;
  /** 0 or Infinity. */
  depth: 0 | 'infinity';
  scope: LockScope;
  /** The DAV:owner element as the client sent it, or null. */
  ownerXml: string | null;
  /** Name of the principal who took the lock. */
  principal: string;
  timeoutSeconds: number;
  createdAtMs: number;
  expiresAtMs: number;
}

export interface LinkRecord {
  id: string;
  path: string;
  createdBy: string;
  createdAtMs: number;
  expiresAtMs: number;
  usedAtMs: number | null;
}

export type LinkConsumeResult =
  | { status: 'success'; link: LinkRecord }
  | { status: 'expired' | 'used' | 'not_found'; link: LinkRecord | null };

export interface InstanceRecord {
  instanceId: string;
  endpoint: string;
  heartbeatAtMs: number;
  startedAtMs: number;
}

export interface ChildrenPage {
  /** Names strictly greater (byte order) than this are returned. */
  after?: string;
  limit?: number;
}

/**
 * Everything the VFS may ask of the metadata store. All methods are also
 * available inside `transaction`, where they see and write one consistent
 * snapshot. Names compare byte-exact; children come back in byte order.
 *
 * Errors: `insert` and `move` throw VfsError EXISTS when the target name is
 * taken; stores surface lost connections as VfsError UNAVAILABLE.
 */
export interface MetadataOps {
  /** Resolves an absolute, normalised path. */
  lookup(path: string): Promise<NodeRecord | null>;
  /**
   * The nodes along `path` from the root: `[root, a, a/b, …]`, stopping at the
   * first name that does not exist or at a file. Its length tells how much of
   * the path exists; the VFS reads parents and ancestors' modes from it.
   */
  resolve(path: string): Promise<NodeRecord[]>;
  /** The member `name` of directory `parentId`, if any (the last step of a resolution whose parent is known). */
  child(parentId: number, name: string): Promise<NodeRecord | null>;
  get(id: number): Promise<NodeRecord | null>;
  children(dirId: number, page?: ChildrenPage): Promise<NodeRecord[]>;
  hasChildren(dirId: number): Promise<boolean>;
  insert(node: NewNode): Promise<NodeRecord>;
  update(id: number, patch: NodePatch): Promise<NodeRecord>;
  move(id: number, newParentId: number, newName: string, ctimeMs: number): Promise<NodeRecord>;
  /** Deletes a node and everything below it; returns the blobs they referenced. */
  removeTree(id: number): Promise<BlobRef[]>;
  /**
   * Number of nodes in the subtree rooted at id, the root included, counted up to `atMost`: a caller
   * that only compares the count with a limit does not pay for a walk of a tree of any size.
   */
  countTree(id: number, atMost: number): Promise<number>;

  getProperties(nodeId: number): Promise<DeadProperty[]>;
  /** Which of `nodeIds` hold any dead property (a listing asks once per page, not once per member). */
  propertyHolders(nodeIds: readonly number[]): Promise<Set<number>>;
  /** Applies sets then removals; both sides are keyed by (namespace, name). */
  patchProperties(nodeId: number, set: DeadProperty[], remove: Array<Pick<DeadProperty, 'namespace' | 'name'>>): Promise<void>;
  copyProperties(fromNodeId: number, toNodeId: number): Promise<void>;

  insertLock(lock: LockRecord): Promise<void>;
  getLock(token: string): Promise<LockRecord | null>;
  refreshLock(token: string, timeoutSeconds: number, expiresAtMs: number): Promise<LockRecord | null>;
  deleteLock(token: string): Promise<boolean>;
  /** Unexpired locks on `path` itself, on its ancestors with depth infinity, and (when `includeDescendants`) anywhere below it. */
  locksAffecting(path: string, nowMs: number, includeDescendants: boolean): Promise<LockRecord[]>;
  deleteExpiredLocks(nowMs: number): Promise<number>;
  /** Removes locks rooted at `path` or below it (after a DELETE or MOVE of that tree). */
  deleteLocksUnder(path: string): Promise<number>;

  insertLink(link: LinkRecord): Promise<void>;
  /** Marks the link used if and only if it is unused and unexpired: exactly one caller can win. */
  consumeLink(id: string, nowMs: number): Promise<LinkConsumeResult>;
  deleteExpiredLinks(beforeMs: number): Promise<number>;

  upsertInstance(instance: InstanceRecord): Promise<void>;
  listInstances(): Promise<InstanceRecord[]>;

  /** Small blobs kept in the store itself (the `inline` backend). Keys are blob keys. */
  putInlineBlob(key: string, data: Buffer): Promise<void>;
  getInlineBlob(key: string): Promise<Buffer | null>;
  deleteInlineBlob(key: string): Promise<boolean>;
  /** Keys and sizes of every inline blob, for fsck. */
  inlineBlobs(): AsyncIterable<{ key: string; size: number }>;

  /** Total bytes of file content (RFC 4331 quota-used-bytes). */
  usedBytes(): Promise<number>;
  /** Every blob the tree references, for fsck. */
  blobRefs(): AsyncIterable<BlobRef>;
}

export interface MetadataStore extends MetadataOps {
  readonly type: 'sqlite' | 'postgres';
  /** Applies pending migrations from migrations/<type>/ and ensures the root directory exists. */
  migrate(): Promise<void>;
  /** Runs fn atomically; a thrown error rolls everything back. Transactions do not nest. */
  transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T>;
  /** Cheap round trip for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const ROOT_ID = 1;
