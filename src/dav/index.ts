import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { authenticationHook } from '../http/authenticate.js';
import type { Vfs } from '../vfs/vfs.js';
import type { DavEnv } from './env.js';
import { sendDavError } from './errors.js';
import { copyMove } from './methods/copy-move.js';
import { del } from './methods/delete.js';
import { getHead } from './methods/get-head.js';
import { lock } from './methods/lock.js';
import { mkcol } from './methods/mkcol.js';
import { options } from './methods/options.js';
import { propfind } from './methods/propfind.js';
import { proppatch } from './methods/proppatch.js';
import { put } from './methods/put.js';
import { unlock } from './methods/unlock.js';
import { DavPaths } from './paths.js';

export interface DavOptions {
  vfs: Vfs;
  auth: Authenticator;
  /** server.dav_prefix, e.g. `/dav/`. */
  davPrefix: string;
  maxXmlBody: number;
  propfindInfinityLimit: number;
}

/** Methods fastify does not know; the ones with a body are parsed by the handlers themselves. */
const EXTENSION_METHODS: Array<[string, boolean]> = [
  ['PROPFIND', true],
  ['PROPPATCH', true],
  ['MKCOL', true],
  ['COPY', false],
  ['MOVE', false],
  ['LOCK', true],
  ['UNLOCK', false],
];

type Handler = (env: DavEnv, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

/** WebDAV class 1 and 2 (RFC 4918) over the VFS, under `prefix`. */
export async function davApi(app: FastifyInstance, opts: DavOptions): Promise<void> {
  for (const [method, hasBody] of EXTENSION_METHODS) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody });
  }
  const paths = new DavPaths(opts.davPrefix);
  const env: DavEnv = {
    vfs: opts.vfs,
    paths,
    maxXmlBody: opts.maxXmlBody,
    propfindInfinityLimit: opts.propfindInfinityLimit,
    maxLockTimeoutSeconds: 7 * 24 * 3600,
    defaultLockTimeoutSeconds: 3600,
  };

  app.addHook(
    'onRequest',
    authenticationHook(
      opts.auth,
      (reply) =>
        reply
          .code(401)
          .header('WWW-Authenticate', 'Basic realm="CallFS"')
          .type('text/plain; charset=utf-8')
          .send('authentication required: HTTP Basic with a user name and password, or any name and an API key\n'),
      // OPTIONS is answered to anyone: clients probe it before they send credentials.
      (request) => request.method === 'OPTIONS',
    ),
  );
  app.setErrorHandler((err, request, reply) => sendDavError(err, request, reply, (p) => paths.hrefOf(p)));

  const handlers: Record<string, Handler> = {
    GET: getHead,
    HEAD: getHead,
    PUT: put,
    DELETE: del,
    PROPFIND: propfind,
    PROPPATCH: proppatch,
    MKCOL: mkcol,
    COPY: copyMove('COPY'),
    MOVE: copyMove('MOVE'),
    LOCK: lock,
    UNLOCK: unlock,
  };
  const base = opts.davPrefix.slice(0, -1);
  for (const url of [base, `${opts.davPrefix}`, `${opts.davPrefix}*`]) {
    if (url === '') continue;
    app.route({ method: 'OPTIONS', url, handler: async (_request, reply) => options(reply) });
    for (const [method, handler] of Object.entries(handlers)) {
      app.route({ method, url, handler: (request, reply) => handler(env, request, reply) });
    }
  }
}
