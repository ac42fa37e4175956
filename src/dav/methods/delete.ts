import type { FastifyReply, FastifyRequest } from 'fastify';
import { strongTags } from '../../http/etag-header.js';
import type { DavEnv } from '../env.js';
import { prepare } from '../env.js';
import { DavStatusError } from '../errors.js';
import { header } from '../headers.js';

/**
 * DELETE (RFC 4918 §9.6): a collection goes with all its members, in one
 * transaction, so there is no partial failure to report in a 207.
 */
export async function del(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  const depth = header(request, 'depth');
  if (depth !== undefined && depth.trim().toLowerCase() !== 'infinity') throw new DavStatusError(400, 'DELETE accepts only Depth: infinity');
  await env.vfs.remove(ctx, ctx.path, { recursive: true, ifMatch: strongTags(header(request, 'if-match')) });
  return reply.code(204).send();
}
