import type { NodeRecord } from '../types.js';
import type { BlobRef, InstanceRecord, LinkRecord, LockRecord, NewNode, NodePatch } from './store.js';

/** Column names of the SQL schema (migrations/*), shared by the SQL engines' row mappers. */
export interface NodeRow {
  id: number;
  parent_id: number | null;
  name: string;
  type: 'file' | 'directory';
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime_ms: number;
  ctime_ms: number;
  btime_ms: number;
  etag: string;
  blob_key: string | null;
  backend: string | null;
  instance_id: string | null;
}

export interface LockRow {
  token: string;
  path: string;
  depth: '0' | 'infinity';
  scope: 'exclusive' | 'shared';
  owner_xml: string | null;
  principal: string;
  timeout_s: number;
  created_ms: number;
  expires_ms: number;
}

export interface LinkRow {
  id: string;
  path: string;
  created_by: string;
  created_ms: number;
  expires_ms: number;
  used_ms: number | null;
}

export interface BlobRow {
  id: number;
  backend: string;
  blob_key: string;
  size: number;
  instance_id: string | null;
}

export interface InstanceRow {
  instance_id: string;
  endpoint: string;
  heartbeat_ms: number;
  started_ms: number;
}

export const toNode = (r: NodeRow): NodeRecord => ({
  id: r.id,
  parentId: r.parent_id,
  name: r.name,
  type: r.type,
  size: r.size,
  mode: r.mode,
  uid: r.uid,
  gid: r.gid,
  mtimeMs: r.mtime_ms,
  ctimeMs: r.ctime_ms,
  btimeMs: r.btime_ms,
  etag: r.etag,
  blobKey: r.blob_key,
  backend: r.backend,
  instanceId: r.instance_id,
});

/** The nodes columns in the order nodeFromValues reads them (SQLite's raw rows). */
export const NODE_COLUMNS = 'id, parent_id, name, type, size, mode, uid, gid, mtime_ms, ctime_ms, btime_ms, etag, blob_key, backend, instance_id';

export type NodeValues = [
  id: number, parentId: number | null, name: string, type: 'file' | 'directory', size: number, mode: number, uid: number, gid: number,
  mtimeMs: number, ctimeMs: number, btimeMs: number, etag: string, blobKey: string | null, backend: string | null, instanceId: string | null,
];

export const nodeFromValues = (v: NodeValues): NodeRecord => ({
  id: v[0],
  parentId: v[1],
  name: v[2],
  type: v[3],
  size: v[4],
  mode: v[5],
  uid: v[6],
  gid: v[7],
  mtimeMs: v[8],
  ctimeMs: v[9],
  btimeMs: v[10],
  etag: v[11],
  blobKey: v[12],
  backend: v[13],
  instanceId: v[14],
});

/**
 * The record of a node just inserted, in the same field order as nodeFromValues: records of one shape
 * keep property reads on the hot path monomorphic (a spread with the id added last made another).
 */
export const nodeFromNew = (id: number, n: NewNode): NodeRecord => ({
  id,
  parentId: n.parentId,
  name: n.name,
  type: n.type,
  size: n.size,
  mode: n.mode,
  uid: n.uid,
  gid: n.gid,
  mtimeMs: n.mtimeMs,
  ctimeMs: n.ctimeMs,
  btimeMs: n.btimeMs,
  etag: n.etag,
  blobKey: n.blobKey,
  backend: n.backend,
  instanceId: n.instanceId,
});

export const toLock = (r: LockRow): LockRecord => ({
  token: r.token,
  path: r.path,
  depth: r.depth === '0' ? 0 : 'infinity',
  scope: r.scope,
  ownerXml: r.owner_xml,
  principal: r.principal,
  timeoutSeconds: r.timeout_s,
  createdAtMs: r.created_ms,
  expiresAtMs: r.expires_ms,
});

export const toLink = (r: LinkRow): LinkRecord => ({
  id: r.id,
  path: r.path,
  createdBy: r.created_by,
  createdAtMs: r.created_ms,
  expiresAtMs: r.expires_ms,
  usedAtMs: r.used_ms,
});

export const toBlobRef = (r: BlobRow): BlobRef => ({ nodeId: r.id, backend: r.backend, blobKey: r.blob_key, size: r.size, instanceId: r.instance_id });

export const toInstance = (r: InstanceRow): InstanceRecord => ({
  instanceId: r.instance_id,
  endpoint: r.endpoint,
  heartbeatAtMs: r.heartbeat_ms,
  startedAtMs: r.started_ms,
});

export const PATCH_COLUMNS: Record<keyof NodePatch, string> = {
  size: 'size',
  mode: 'mode',
  uid: 'uid',
  gid: 'gid',
  mtimeMs: 'mtime_ms',
  ctimeMs: 'ctime_ms',
  etag: 'etag',
  blobKey: 'blob_key',
  backend: 'backend',
  instanceId: 'instance_id',
};
