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
 * A maker of the signal that aborts an upload when the client goes away before its body is
 * complete, for WriteFileOptions.signal. The AbortController is only made when a write asks for
 * it (one that streams to a backend): one per request showed among the largest costs of a small
 * PUT, whose body is kept inline and needs none.
 */
export function abortSignalMaker(request: FastifyRequest): () => AbortSignal {
  let controller: AbortController | undefined;
  let cutOff: VfsError | undefined;
  request.raw.once('close', () => {
    if (request.raw.complete) return;
    cutOff = new VfsError('ABORTED', 'the client closed the connection before the body was complete');
    controller?.abort(cutOff);
  });
  return () => {
    if (!controller) {
      controller = new AbortController();
      if (cutOff) controller.abort(cutOff);
    }
    return controller.signal;
  };
}
