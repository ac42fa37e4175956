import type { FastifyRequest } from 'fastify';
import { VfsError } from '../vfs/errors.js';

/**
 * The body length a client announced: Content-Length, or X-Expected-Entity-Length
 * (macOS Finder sends chunked bodies with it). The VFS refuses a body of any
 * other length, so a cut-off upload never becomes the file.
 */
export function declaredLength(request: FastifyRequest): number | undefined {
  const rawHeader = request.headers['content-length'] ?? request.headers['x-expected-entity-length'];
  const raw = Array.isArray(rawHeader) ? rawHeader[0] : rawHeader;
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value)) throw new VfsError('INVALID_ARGUMENT', `invalid body length ${JSON.stringify(raw)}`);
  return value;
}

/**
 * Aborted when the client goes away before its body is complete. None when the whole body has
 * already arrived (a small upload often comes in the packets of its headers): nothing is left to
 * abort then, and an AbortController per request showed among the largest costs of a small PUT.
 */
export function abortSignalOf(request: FastifyRequest): AbortSignal | undefined {
  if (request.raw.complete) return undefined;
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort(new VfsError('ABORTED', 'the client closed the connection before the body was complete'));
  });
  return controller.signal;
}
