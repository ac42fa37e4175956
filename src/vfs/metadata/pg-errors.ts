import { VfsError } from '../errors.js';

/** Seconds a client is asked to wait when PostgreSQL cannot be reached. */
export const PG_RETRY_AFTER_SECONDS = 5;

const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  '53300', // too_many_connections
]);

// Messages node-postgres uses for a connection it lost or could not make; they carry no code.
const CONNECTION_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended|connection error|terminating connection/i;

export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  // Class 08 is connection exceptions, 57P0x is the server shutting down or starting up.
  if (CONNECTION_CODES.has(code) || code.startsWith('08') || code.startsWith('57P')) return true;
  return typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message);
}

/** Deadlocks and serialization failures: the transaction may simply be run again. */
export function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001';
}

/** Turns a node-postgres error into the VfsError the VFS understands, or returns it unchanged. */
export function translatePgError(err: unknown, what: string): unknown {
  if (err instanceof VfsError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === '23505') return new VfsError('EXISTS', `already exists: ${what}`, {}, { cause: err });
  // A parent (or node) removed by a transaction that committed first.
  if (code === '23503') return new VfsError('NOT_FOUND', `the parent of ${what} no longer exists`, {}, { cause: err });
  if (isRetryable(err)) return new VfsError('BUSY', `concurrent change to ${what}, try again`, { retryAfter: 1 }, { cause: err });
  if (isConnectionError(err)) {
    return new VfsError('UNAVAILABLE', `the metadata database is unreachable: ${(err as Error).message}`, { retryAfter: PG_RETRY_AFTER_SECONDS }, { cause: err });
  }
  return err;
}
