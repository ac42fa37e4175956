import type { FastifyReply, FastifyRequest } from 'fastify';
import { classifyForeignError } from '../rest/errors.js';
import type { VfsErrorCode } from '../vfs/errors.js';
import { escapeXml } from './xml-write.js';

/**
 * The one status-code table of the WebDAV front end (RFC 4918 §9 and the
 * status codes of each method). A Record, so a new VfsErrorCode does not
 * compile until it is given a status here. Methods that the RFC gives a
 * different status for one code (MKCOL on an existing path is 405, COPY onto
 * an existing path with Overwrite: F is 412) say so where they call the VFS.
 */
export const DAV_STATUS: Record<VfsErrorCode, number> = {
  NOT_FOUND: 404,
  PARENT_NOT_FOUND: 409,
  EXISTS: 405,
  NOT_EMPTY: 409,
  PERMISSION_DENIED: 403,
  LOCKED: 423,
  PRECONDITION_FAILED: 412,
  INVALID_PATH: 400,
  INVALID_ARGUMENT: 400,
  NOT_A_DIRECTORY: 409,
  IS_A_DIRECTORY: 405,
  INSUFFICIENT_STORAGE: 507,
  TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  UNAVAILABLE: 503,
  BUSY: 503,
  CONFLICT_REMOTE: 409,
  PEER_FAILED: 502,
  ABORTED: 400,
  INTERNAL: 500,
};

export const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  207: 'Multi-Status',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  423: 'Locked',
  424: 'Failed Dependency',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

export const statusLine = (status: number) => `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}`.trimEnd();

/** An error with a fixed DAV status, for failures that are the protocol's own (bad Depth, foreign Destination…). */
export class DavStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A DAV: precondition element name for the body (RFC 4918 §16). */
    readonly condition?: string,
  ) {
    super(message);
  }
}

function errorBody(condition: string, inner = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:${condition}>${inner}</D:${condition}></D:error>`;
}

export function sendDavError(err: unknown, request: FastifyRequest, reply: FastifyReply, hrefOf: (path: string) => string): void {
  if (err instanceof DavStatusError) {
    if (err.condition) reply.code(err.status).type('application/xml; charset=utf-8').send(errorBody(err.condition));
    else reply.code(err.status).type('text/plain; charset=utf-8').send(err.message + '\n');
    return;
  }
  const known = classifyForeignError(err);
  if (!known || known.code === 'INTERNAL') {
    request.log.error({ err }, 'WebDAV request failed');
    reply.code(500).type('text/plain; charset=utf-8').send(`internal error; the server log has details (request id ${request.id})\n`);
    return;
  }
  const status = DAV_STATUS[known.code];
  if (status >= 500) request.log.warn({ err: known }, 'WebDAV request failed');
  if (known.details.retryAfter !== undefined) reply.header('Retry-After', String(known.details.retryAfter));
  else if (status === 503) reply.header('Retry-After', '5');
  if (known.code === 'LOCKED' && typeof known.details.lockRoot === 'string') {
    reply.code(423).type('application/xml; charset=utf-8').send(errorBody('lock-token-submitted', `<D:href>${escapeXml(hrefOf(known.details.lockRoot))}</D:href>`));
    return;
  }
  reply.code(status).type('text/plain; charset=utf-8').send(known.message + '\n');
}
