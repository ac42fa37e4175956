import type { FastifyReply, FastifyRequest } from 'fastify';
import { noteFreshBuffers } from '../heap-ceiling.js';
import { VfsError } from '../vfs/errors.js';
import type { OpContext, Vfs } from '../vfs/vfs.js';
import type { Entry } from '../vfs/types.js';
import { evaluateReadConditions, ifRangeHolds } from './conditional.js';
import { contentTypeOf } from './entity-headers.js';
import { parseRange } from './range.js';
import { sendPositional } from './send-positional.js';

/** Smaller bodies are one or two chunks of a stream: reusing buffers gains nothing there. */
const POSITIONAL_MIN_BYTES = 1024 * 1024;

/**
 * GET and HEAD of a file, for REST and WebDAV alike: validators, conditional
 * requests (304/412), one byte range (206/416), and a streamed body.
 * `file` is the entry the caller has just stat'ed: its path is not resolved again;
 * `headersOf` gives the front end's entity headers.
 */
export async function serveFile(
  vfs: Vfs,
  ctx: OpContext,
  file: Entry,
  headersOf: (entry: Entry) => Record<string, string>,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { entry, open, openPositional } = vfs.openEntry(ctx, file);
  reply.headers(headersOf(entry));
  reply.header('Accept-Ranges', 'bytes');
  const verdict = evaluateReadConditions(entry, request.headers);
  if (verdict === 'failed') throw new VfsError('PRECONDITION_FAILED', 'precondition failed', { path: entry.path });
  if (verdict === 'not-modified') {
    return reply.code(304).send();
  }
  reply.header('Content-Type', contentTypeOf(entry.name));
  const range = ifRangeHolds(entry, request.headers) ? parseRange(request.headers.range, entry.size) : ({ kind: 'full' } as const);
  if (range.kind === 'unsatisfiable') {
    reply.header('Content-Range', `bytes */${entry.size}`);
    throw new VfsError('RANGE_NOT_SATISFIABLE', `range not satisfiable for a ${entry.size}-byte file`, { path: entry.path });
  }
  const span = range.kind === 'partial' ? range.range : undefined;
  const length = span ? span.end - span.start + 1 : entry.size;
  reply.header('Content-Length', String(length));
  if (span) {
    reply.code(206);
    reply.header('Content-Range', `bytes ${span.start}-${span.end}/${entry.size}`);
  }
  if (request.method === 'HEAD') return reply.send();
  if (length >= POSITIONAL_MIN_BYTES) {
    const reader = await openPositional();
    if (reader) {
      await sendPositional(reply, reader, span?.start ?? 0, length);
      return reply;
    }
  }
  noteFreshBuffers(length);
  return reply.send(await open(span));
}
