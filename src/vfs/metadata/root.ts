import type { NodeRecord } from '../types.js';
import { ROOT_ID } from './store.js';

/** The root directory every store creates on first start: owned by root, world-readable. */
export function rootNode(nowMs: number): NodeRecord {
  return {
    id: ROOT_ID,
    parentId: null,
    name: '',
    type: 'directory',
    size: 0,
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtimeMs: nowMs,
    ctimeMs: nowMs,
    btimeMs: nowMs,
    etag: `d-root-${nowMs.toString(36)}`,
    blobKey: null,
    backend: null,
    instanceId: null,
  };
}
