import type { FastifyInstance } from 'fastify';
import { parseRange } from '../http/range.js';
import { BLOB_KEY_PATTERN } from '../vfs/backends/blob-key.js';
import type { BackendRegistry } from '../vfs/backends/registry.js';
import { INTERNAL_SECRET_HEADER, secretMatches } from './internal-secret.js';

export interface InternalRoutesOptions {
  backends: BackendRegistry;
  secret: string;
}

/**
 * GET /internal/blobs/:backend/:key — another node streams a blob this node
 * holds on its localfs (the internalproxy backend). Only with the shared
 * secret; only node-local backends; Range passed through. Not registered at
 * all when no secret is configured.
 */
export async function internalRoutes(app: FastifyInstance, options: InternalRoutesOptions): Promise<void> {
  app.get<{ Params: { backend: string; key: string } }>('/internal/blobs/:backend/:key', async (request, reply) => {
    const header = request.headers[INTERNAL_SECRET_HEADER];
    if (!secretMatches(typeof header === 'string' ? header : undefined, options.secret)) {
      return reply.code(401).send({ code: 'UNAUTHORIZED', message: 'internal route: missing or wrong internal proxy secret' });
    }
    const { backend: name, key } = request.params;
    const backend = options.backends.entries().find(([n]) => n === name)?.[1];
    if (!backend || !backend.nodeLocal || !BLOB_KEY_PATTERN.test(key)) {
      return reply.code(404).send({ code: 'NOT_FOUND', message: 'no such blob' });
    }
    const info = await backend.stat(key);
    if (!info) return reply.code(404).send({ code: 'NOT_FOUND', message: 'no such blob' });
    const range = parseRange(request.headers.range, info.size);
    if (range.kind === 'unsatisfiable') {
      return reply.code(416).header('Content-Range', `bytes */${info.size}`).send({ code: 'RANGE_NOT_SATISFIABLE', message: 'range not satisfiable' });
    }
    reply.header('Accept-Ranges', 'bytes').type('application/octet-stream');
    if (info.size === 0) return reply.header('Content-Length', '0').send('');
    if (range.kind === 'partial') {
      const { start, end } = range.range;
      reply.code(206).header('Content-Range', `bytes ${start}-${end}/${info.size}`).header('Content-Length', String(end - start + 1));
      return reply.send(await backend.read(key, range.range));
    }
    reply.header('Content-Length', String(info.size));
    return reply.send(await backend.read(key));
  });
}
