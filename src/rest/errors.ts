import type { FastifyReply, FastifyRequest } from 'fastify';
import { VfsError, type VfsErrorCode } from '../vfs/errors.js';

/**
 * The one status-code table of the REST API. A Record, so a new VfsErrorCode
 * does not compile until it is given a status here.
 */
export const REST_ERRORS: Record<VfsErrorCode, { status: number; code: string }> = {
  NOT_FOUND: { status: 404, code: 'FILE_NOT_FOUND' },
  PARENT_NOT_FOUND: { status: 409, code: 'PARENT_NOT_FOUND' },
  EXISTS: { status: 409, code: 'ALREADY_EXISTS' },
  NOT_EMPTY: { status: 409, code: 'DIRECTORY_NOT_EMPTY' },
  PERMISSION_DENIED: { status: 403, code: 'PERMISSION_DENIED' },
  LOCKED: { status: 423, code: 'LOCKED' },
  PRECONDITION_FAILED: { status: 412, code: 'PRECONDITION_FAILED' },
  INVALID_PATH: { status: 400, code: 'INVALID_PATH' },
  INVALID_ARGUMENT: { status: 400, code: 'INVALID_ARGUMENT' },
  NOT_A_DIRECTORY: { status: 409, code: 'NOT_A_DIRECTORY' },
  IS_A_DIRECTORY: { status: 409, code: 'IS_A_DIRECTORY' },
  INSUFFICIENT_STORAGE: { status: 507, code: 'INSUFFICIENT_STORAGE' },
  TOO_LARGE: { status: 413, code: 'PAYLOAD_TOO_LARGE' },
  RANGE_NOT_SATISFIABLE: { status: 416, code: 'RANGE_NOT_SATISFIABLE' },
  UNAVAILABLE: { status: 503, code: 'SERVICE_UNAVAILABLE' },
  BUSY: { status: 503, code: 'BUSY' },
  CONFLICT_REMOTE: { status: 409, code: 'CONFLICT_REMOTE' },
  PEER_FAILED: { status: 502, code: 'PEER_FAILED' },
  ABORTED: { status: 400, code: 'INCOMPLETE_BODY' },
  INTERNAL: { status: 500, code: 'INTERNAL_ERROR' },
};

/** Codes for failures that are not VFS errors: before the VFS is reached, or outcomes of a download link. */
export const HTTP_ERRORS = {
  UNAUTHORIZED: { status: 401, code: 'UNAUTHORIZED' },
  ROUTE_NOT_FOUND: { status: 404, code: 'NOT_FOUND' },
  METHOD_NOT_ALLOWED: { status: 405, code: 'METHOD_NOT_ALLOWED' },
  RATE_LIMITED: { status: 429, code: 'RATE_LIMITED' },
  BAD_REQUEST: { status: 400, code: 'BAD_REQUEST' },
  LINK_NOT_FOUND: { status: 404, code: 'LINK_NOT_FOUND' },
  LINK_EXPIRED: { status: 410, code: 'LINK_EXPIRED' },
  LINK_USED: { status: 410, code: 'LINK_USED' },
} as const;

export interface ErrorContext {
  /** Base URL for update_url in conflict bodies. */
  externalUrl: string;
}

export function restErrorBody(err: VfsError, context: ErrorContext): Record<string, unknown> {
  const body: Record<string, unknown> = { code: REST_ERRORS[err.code].code, message: err.message };
  if (err.code === 'EXISTS' || err.code === 'CONFLICT_REMOTE') {
    body.instance_id = err.details.instanceId;
    body.backend_type = err.details.backendType;
    if (err.details.path) body.update_url = `${context.externalUrl}/v1/files${encodePath(String(err.details.path))}`;
  }
  if (err.code === 'PEER_FAILED' && err.details.instanceId) body.instance_id = err.details.instanceId;
  return body;
}

export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Errors of Node or fastify that are the client's doing or the machine's state, not our bug. */
export function classifyForeignError(err: unknown): VfsError | null {
  if (err instanceof VfsError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string };
  switch (e?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new VfsError('INSUFFICIENT_STORAGE', 'the storage backend is out of space');
    case 'ECONNRESET':
    case 'ERR_STREAM_PREMATURE_CLOSE':
    case 'ABORT_ERR':
      return new VfsError('ABORTED', 'the request body ended before it was complete');
  }
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new VfsError('TOO_LARGE', 'request body too large');
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new VfsError('INVALID_ARGUMENT', e.message ?? 'bad request');
  }
  return null;
}

export function sendRestError(err: unknown, request: FastifyRequest, reply: FastifyReply, context: ErrorContext): void {
  const known = classifyForeignError(err);
  if (!known || known.code === 'INTERNAL') {
    request.log.error({ err }, 'request failed');
    reply.code(500).send({ code: REST_ERRORS.INTERNAL.code, message: 'internal error; the server log has details (request id ' + request.id + ')' });
    return;
  }
  const { status } = REST_ERRORS[known.code];
  if (status >= 500) request.log.warn({ err: known }, 'request failed');
  if (known.details.retryAfter !== undefined) reply.header('Retry-After', String(known.details.retryAfter));
  else if (status === 503) reply.header('Retry-After', '5');
  reply.code(status).send(restErrorBody(known, context));
}

export function sendHttpError(reply: FastifyReply, kind: keyof typeof HTTP_ERRORS, message: string): FastifyReply {
  const { status, code } = HTTP_ERRORS[kind];
  return reply.code(status).send({ code, message });
}
