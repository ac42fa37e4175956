import type { FastifyReply, FastifyRequest } from 'fastify';
import { quoteEtag, strongTags, weakTags } from '../../http/etag-header.js';
import { abortSignalMaker, declaredLength } from '../../http/upload.js';
import type { DavEnv } from '../env.js';
import { prepare } from '../env.js';
import { DavStatusError } from '../errors.js';
import { header } from '../headers.js';

/** PUT (RFC 4918 §9.7): atomic replace; 201 new, 204 replaced; 409 without a parent. */
export async function put(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  // A partial PUT cannot be honoured; storing the fragment as the whole would corrupt the file.
  if (header(request, 'content-range') !== undefined) throw new DavStatusError(400, 'PUT with Content-Range is not supported');
  const { entry, created } = await env.vfs.writeFile(ctx, ctx.path, request.raw, {
    ifMatch: strongTags(header(request, 'if-match')),
    ifNoneMatch: weakTags(header(request, 'if-none-match')),
    expectedSize: declaredLength(request),
    signal: abortSignalMaker(request),
  });
  return reply
    .code(created ? 201 : 204)
    .header('ETag', quoteEtag(entry.etag))
    .header('Content-Length', '0')
    .send();
}
