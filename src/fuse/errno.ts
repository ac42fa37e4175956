import type { IncomingMessage } from 'node:http';
import { constants } from 'node:os';
import type { VfsErrorCode } from '../vfs/errors.js';
import { REST_ERRORS } from '../rest/errors.js';

const E = constants.errno;

/**
 * The one errno table of the mount: what a FUSE operation returns when the
 * server answers with a VfsError code. A Record, so a new code does not compile
 * until it has an errno here. Server-side failures are EIO.
 */
export const FUSE_ERRNO: Record<VfsErrorCode, number> = {
  NOT_FOUND: E.ENOENT,
  PARENT_NOT_FOUND: E.ENOENT,
  EXISTS: E.EEXIST,
  NOT_EMPTY: E.ENOTEMPTY,
  PERMISSION_DENIED: E.EACCES,
  LOCKED: E.EBUSY,
  PRECONDITION_FAILED: E.EIO,
  INVALID_PATH: E.EINVAL,
  INVALID_ARGUMENT: E.EINVAL,
  NOT_A_DIRECTORY: E.ENOTDIR,
  IS_A_DIRECTORY: E.EISDIR,
  INSUFFICIENT_STORAGE: E.ENOSPC,
  TOO_LARGE: E.EFBIG,
  RANGE_NOT_SATISFIABLE: E.EINVAL,
  UNAVAILABLE: E.EIO,
  BUSY: E.EIO,
  CONFLICT_REMOTE: E.EEXIST,
  PEER_FAILED: E.EIO,
  ABORTED: E.EIO,
  INTERNAL: E.EIO,
};

/** The REST body's `code` string back to the VfsError code it came from. */
const BY_REST_CODE = new Map<string, VfsErrorCode>(Object.entries(REST_ERRORS).map(([vfsCode, { code }]) => [code, vfsCode as VfsErrorCode]));

/** A failed call to the server, carrying the errno the FUSE operation returns. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    readonly errno: number,
    message: string,
    readonly status?: number,
    readonly vfsCode?: VfsErrorCode,
  ) {
    super(message);
  }
}

/** Reads an error answer's body (its first 64 KiB are kept, the rest drained) and maps it as remoteErrorOf does. */
export async function remoteErrorOfAnswer(res: IncomingMessage): Promise<RemoteError> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < 65536) chunks.push(chunk);
    size += chunk.length;
  }
  let body: { code?: unknown; message?: unknown } | null = null;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
  } catch {
    body = null;
  }
  return remoteErrorOf(res.statusCode ?? 0, body);
}

/** Maps an HTTP error answer ({code, message} body, or only a status) to a RemoteError. */
function remoteErrorOf(status: number, body: { code?: unknown; message?: unknown } | null): RemoteError {
  const vfsCode = typeof body?.code === 'string' ? BY_REST_CODE.get(body.code) : undefined;
  const message = `${status} ${typeof body?.message === 'string' ? body.message : ''}`.trim();
  if (vfsCode) return new RemoteError(FUSE_ERRNO[vfsCode], message, status, vfsCode);
  if (status === 401 || status === 403) return new RemoteError(E.EACCES, message, status);
  if (status === 404) return new RemoteError(E.ENOENT, message, status);
  return new RemoteError(E.EIO, message, status);
}

/** The errno for anything thrown inside an operation: a RemoteError's own, else EIO (network, timeout, local I/O). */
export function errnoOf(err: unknown): number {
  if (err instanceof RemoteError) return err.errno;
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOSPC') return E.ENOSPC;
  return E.EIO;
}

export { E as ERRNO };
