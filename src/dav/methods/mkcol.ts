import type { FastifyReply, FastifyRequest } from 'fastify';
import { isVfsError } from '../../vfs/errors.js';
import type { DavEnv } from '../env.js';
import { prepare } from '../env.js';
import { DavStatusError } from '../errors.js';
import { hasBody } from '../headers.js';

/** MKCOL (RFC 4918 §9.3): 201; 405 when the URL is mapped, 409 without a parent, 415 with a body. */
export async function mkcol(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  if (hasBody(request)) {
    request.raw.resume();
    throw new DavStatusError(415, 'MKCOL with a request body is not supported');
  }
  try {
    await env.vfs.mkdir(ctx, ctx.path);
  } catch (err) {
    if (isVfsError(err, 'NOT_A_DIRECTORY')) throw new DavStatusError(409, 'a component of the path is not a collection');
    throw err;
  }
  return reply.code(201).header('Location', env.paths.hrefOf(ctx.path, true)).header('Content-Length', '0').send();
}
