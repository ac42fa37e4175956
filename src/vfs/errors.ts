/**
 * The one error type the VFS throws. Front ends map `code` to their own status
 * (src/rest/errors.ts, src/dav/errors.ts, src/fuse/errno.ts) through a
 * Record<VfsErrorCode, …>, so adding a code here makes the compiler point at
 * every table that must learn it.
 */
export const VFS_ERROR_CODES = [
  'NOT_FOUND',
  'PARENT_NOT_FOUND',
  'EXISTS',
  'NOT_EMPTY',
  'PERMISSION_DENIED',
  'LOCKED',
  'PRECONDITION_FAILED',
  'INVALID_PATH',
  'INVALID_ARGUMENT',
  'NOT_A_DIRECTORY',
  'IS_A_DIRECTORY',
  'INSUFFICIENT_STORAGE',
  'TOO_LARGE',
  'RANGE_NOT_SATISFIABLE',
  'UNAVAILABLE',
  'BUSY',
  'CONFLICT_REMOTE',
  'PEER_FAILED',
  'ABORTED',
  'INTERNAL',
] as const;

export type VfsErrorCode = (typeof VFS_ERROR_CODES)[number];

export interface VfsErrorDetails {
  /** Seconds a client should wait before retrying (UNAVAILABLE, BUSY). */
  retryAfter?: number;
  /** Where a conflicting path lives (EXISTS, CONFLICT_REMOTE). */
  instanceId?: string;
  backendType?: string;
  path?: string;
  [key: string]: unknown;
}

export class VfsError extends Error {
  override readonly name = 'VfsError';
  constructor(
    readonly code: VfsErrorCode,
    message: string,
    readonly details: VfsErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isVfsError(err: unknown, code?: VfsErrorCode): err is VfsError {
  return err instanceof VfsError && (code === undefined || err.code === code);
}

export const notFound = (path: string) => new VfsError('NOT_FOUND', `no such file or directory: ${path}`, { path });
export const denied = (path: string, what: string) =>
  new VfsError('PERMISSION_DENIED', `permission denied: ${what} ${path}`, { path });
