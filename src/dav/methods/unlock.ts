import type { FastifyReply, FastifyRequest } from 'fastify';
import { isVfsError } from '../../vfs/errors.js';
import type { DavEnv } from '../env.js';
import { prepare } from '../env.js';
import { DavStatusError } from '../errors.js';
import { header } from '../headers.js';

/** UNLOCK (RFC 4918 §9.11): 204; 400 without a Lock-Token; 409 when the token does not cover the URL. */
export async function unlock(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  const raw = header(request, 'lock-token');
  const m = raw === undefined ? null : /^\s*<([^<>\s]+)>\s*$/.exec(raw);
  if (!m) throw new DavStatusError(400, 'UNLOCK needs a Lock-Token header such as <urn:uuid:…>');
  try {
    await env.vfs.unlock(ctx, ctx.path, m[1]!);
  } catch (err) {
    if (isVfsError(err, 'INVALID_ARGUMENT')) throw new DavStatusError(409, err.message, 'lock-token-matches-request-uri');
    throw err;
  }
  return reply.code(204).send();
}
