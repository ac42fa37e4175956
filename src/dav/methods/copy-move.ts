import type { FastifyReply, FastifyRequest } from 'fastify';
import { isVfsError } from '../../vfs/errors.js';
import { isWithin } from '../../vfs/path.js';
import type { DavEnv } from '../env.js';
import { prepare } from '../env.js';
import { DavStatusError } from '../errors.js';
import { header, parseDepth, parseOverwrite } from '../headers.js';

/**
 * COPY and MOVE (RFC 4918 §9.8, §9.9): 201 when the destination is new, 204
 * when it was replaced; 412 when it exists and Overwrite is F; 409 when its
 * parent is missing; 403 when source and destination are the same.
 */
export function copyMove(kind: 'COPY' | 'MOVE') {
  return async (env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const ctx = await prepare(env, request);
    const destinationHeader = header(request, 'destination');
    if (!destinationHeader) throw new DavStatusError(400, `${kind} needs a Destination header`);
    const destination = env.paths.pathOfUri(destinationHeader.trim(), header(request, 'host'));
    const overwrite = parseOverwrite(request);
    const depth = parseDepth(request, 'infinity');
    const source = await env.vfs.stat(ctx, ctx.path);
    if (source.type === 'directory') {
      if (depth === '1' || (kind === 'MOVE' && depth !== 'infinity')) throw new DavStatusError(400, `${kind} of a collection accepts Depth: ${kind === 'MOVE' ? 'infinity' : '0 or infinity'}`);
    }
    if (destination === ctx.path) throw new DavStatusError(403, 'source and destination are the same resource');
    if (isWithin(destination, ctx.path)) throw new DavStatusError(403, 'cannot copy or move a collection into itself');
    try {
      const result = kind === 'COPY'
        ? await env.vfs.copy(ctx, ctx.path, destination, { overwrite, depth: depth === '0' ? 0 : 'infinity' })
        : await env.vfs.move(ctx, ctx.path, destination, { overwrite });
      if (!result.replaced) reply.header('Location', env.paths.hrefOfEntry(result.entry));
      return reply.code(result.replaced ? 204 : 201).header('Content-Length', '0').send();
    } catch (err) {
      if (isVfsError(err, 'EXISTS')) throw new DavStatusError(412, 'the destination exists and Overwrite is F');
      if (isVfsError(err, 'NOT_A_DIRECTORY')) throw new DavStatusError(409, 'the parent of the destination is not a collection');
      throw err;
    }
  };
}
