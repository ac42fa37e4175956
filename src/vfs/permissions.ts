import { denied } from './errors.js';
import type { NodeRecord, Principal } from './types.js';

export const R = 4;
export const W = 2;
export const X = 1;

function isMember(principal: Principal, gid: number): boolean {
  return principal.gid === gid || principal.groups.includes(gid);
}

/** Unix permission check: the owner class, else the group class, else other. uid 0 may do anything. */
export function allowed(node: Pick<NodeRecord, 'mode' | 'uid' | 'gid'>, principal: Principal, want: number): boolean {
  if (principal.uid === 0) return true;
  let bits: number;
  if (principal.uid === node.uid) bits = (node.mode >> 6) & 7;
  else if (isMember(principal, node.gid)) bits = (node.mode >> 3) & 7;
  else bits = node.mode & 7;
  return (bits & want) === want;
}

const WORDS: Record<number, string> = { [R]: 'read', [W]: 'write', [X]: 'search', [W | X]: 'write in', [R | X]: 'list' };

export function requireAccess(node: NodeRecord, path: string, principal: Principal, want: number): void {
  if (!allowed(node, principal, want)) throw denied(path, WORDS[want] ?? 'access');
}

export function isOwnerOrRoot(node: NodeRecord, principal: Principal): boolean {
  return principal.uid === 0 || principal.uid === node.uid;
}

export function mayChangeGroup(node: Pick<NodeRecord, 'uid'>, principal: Principal, gid: number): boolean {
  if (principal.uid === 0) return true;
  return principal.uid === node.uid && isMember(principal, gid);
}
