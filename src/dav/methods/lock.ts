import type { FastifyReply, FastifyRequest } from 'fastify';
import { VfsError, isVfsError } from '../../vfs/errors.js';
import type { LockRecord } from '../../vfs/metadata/store.js';
import type { DavEnv } from '../env.js';
import { prepare, readXml } from '../env.js';
import { DavStatusError } from '../errors.js';
import { activeLockXml } from '../live-props.js';
import { XML_DECLARATION } from '../multistatus.js';
import { parseDepth, parseTimeout } from '../headers.js';
import { childDav, elements, isDav, type XmlElement } from '../xml-parse.js';
import { serializeElement } from '../xml-write.js';

function parseLockInfo(body: XmlElement): { scope: LockRecord['scope']; ownerXml: string | null } {
  if (!isDav(body, 'lockinfo')) throw new DavStatusError(400, 'the body of a LOCK must be a DAV:lockinfo element');
  const scopeEl = childDav(body, 'lockscope');
  const scopes = scopeEl ? elements(scopeEl).filter((e) => isDav(e, 'exclusive') || isDav(e, 'shared')) : [];
  if (scopes.length !== 1) throw new DavStatusError(400, 'DAV:lockscope must hold DAV:exclusive or DAV:shared');
  const typeEl = childDav(body, 'locktype');
  if (!typeEl || !elements(typeEl).some((e) => isDav(e, 'write'))) throw new DavStatusError(400, 'DAV:locktype must be DAV:write');
  const owner = childDav(body, 'owner');
  return { scope: scopes[0]!.name as LockRecord['scope'], ownerXml: owner ? serializeElement(owner) : null };
}

function lockBody(env: DavEnv, lock: LockRecord, isCollection: boolean): string {
  return `${XML_DECLARATION}<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(lock, env.paths, Date.now(), isCollection)}</D:lockdiscovery></D:prop>`;
}

/**
 * LOCK (RFC 4918 §9.10): a new exclusive or shared write lock (201 when the
 * URL was unmapped and is now an empty file), or, without a body, a refresh
 * of the lock whose token the If header submits.
 */
export async function lock(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  const timeout = parseTimeout(request, env.defaultLockTimeoutSeconds, env.maxLockTimeoutSeconds);
  const body = await readXml(env, request);
  if (!body) {
    if (!ctx.lockTokens?.length) throw new DavStatusError(400, 'a LOCK without a body refreshes a lock and needs its token in an If header');
    let failure: unknown = new VfsError('PRECONDITION_FAILED', 'no submitted token applies to this resource');
    for (const token of ctx.lockTokens) {
      try {
        const refreshed = await env.vfs.refreshLock(ctx, ctx.path, token, timeout);
        const entry = await env.vfs.stat(ctx, refreshed.path).catch(() => null);
        return reply.code(200).type('application/xml; charset=utf-8').send(lockBody(env, refreshed, entry?.type === 'directory'));
      } catch (err) {
        if (!isVfsError(err, 'PRECONDITION_FAILED')) throw err;
        failure = err;
      }
    }
    throw failure;
  }
  const depth = parseDepth(request, 'infinity');
  if (depth === '1') throw new DavStatusError(400, 'LOCK accepts Depth: 0 or infinity');
  const info = parseLockInfo(body);
  const { lock: taken, created, entry } = await env.vfs.lock(ctx, ctx.path, {
    scope: info.scope,
    depth: depth === '0' ? 0 : 'infinity',
    ownerXml: info.ownerXml,
    timeoutSeconds: timeout,
  });
  return reply
    .code(created ? 201 : 200)
    .header('Lock-Token', `<${taken.token}>`)
    .type('application/xml; charset=utf-8')
    .send(lockBody(env, taken, entry.type === 'directory'));
}
