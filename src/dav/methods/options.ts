import type { FastifyReply } from 'fastify';

export const DAV_METHODS = ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'] as const;

/**
 * OPTIONS answers without authentication: Windows and macOS probe for DAV
 * support before they send credentials.
 */
export function options(reply: FastifyReply): FastifyReply {
  return reply
    .code(200)
    .header('DAV', '1, 2')
    .header('MS-Author-Via', 'DAV')
    .header('Allow', DAV_METHODS.join(', '))
    .header('Accept-Ranges', 'bytes')
    .header('Content-Length', '0')
    .send();
}
