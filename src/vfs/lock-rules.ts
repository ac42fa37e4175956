import { VfsError } from './errors.js';
import type { LockRecord } from './metadata/store.js';
import type { Principal } from './types.js';

/**
 * Whether a request that submitted `tokens` may modify a resource affected by
 * `locks`. An exclusive lock needs its own token; shared locks on one root are
 * satisfied by the token of any one of them. A token only counts for the
 * principal who took the lock (RFC 4918 §6.4), except for root.
 */
export function assertLocksHeld(locks: readonly LockRecord[], tokens: readonly string[] | undefined, principal: Principal, path: string): void {
  if (locks.length === 0) return;
  const submitted = new Set(tokens ?? []);
  const owns = (l: LockRecord) => submitted.has(l.token) && (principal.uid === 0 || l.principal === principal.name);
  const sharedSatisfied = new Set<string>();
  for (const l of locks) if (l.scope === 'shared' && owns(l)) sharedSatisfied.add(l.path);
  for (const l of locks) {
    if (owns(l)) continue;
    if (l.scope === 'shared' && sharedSatisfied.has(l.path)) continue;
    throw new VfsError('LOCKED', `${path} is locked`, { path, lockRoot: l.path });
  }
}

/** Whether a new lock of `scope` conflicts with existing locks (exclusive conflicts with anything). */
export function conflictingLock(existing: readonly LockRecord[], scope: LockRecord['scope']): LockRecord | undefined {
  return existing.find((l) => scope === 'exclusive' || l.scope === 'exclusive');
}
