import type { FastifyRequest } from 'fastify';
import { readSmallBody } from '../http/json-body.js';
import { isVfsError } from '../vfs/errors.js';
import type { Vfs } from '../vfs/vfs.js';
import { DavStatusError } from './errors.js';
import { evaluateIf, parseIfHeader, submittedTokens, type IfList, type ResourceState } from './if-header.js';
import { header, type DavContext } from './headers.js';
import type { DavPaths } from './paths.js';
import { decodeXmlBody, parseXml, type XmlElement } from './xml-parse.js';

/** Everything a method handler needs; built once by the plugin. */
export interface DavEnv {
  vfs: Vfs;
  paths: DavPaths;
  maxXmlBody: number;
  propfindInfinityLimit: number;
  maxLockTimeoutSeconds: number;
  defaultLockTimeoutSeconds: number;
}

/**
 * Resolves the request path and evaluates the If header (RFC 4918 §10.4):
 * a header that does not hold is 412; the lock tokens it submits go to the
 * VFS, which enforces locks for every front end.
 */
export async function prepare(env: DavEnv, request: FastifyRequest): Promise<DavContext & { ifLists: IfList[] }> {
  const path = env.paths.pathOf(request.raw.url!);
  const principal = request.principal!;
  const raw = header(request, 'if');
  if (raw === undefined) return { principal, path, lockTokens: [], ifLists: [] };
  const ifLists = parseIfHeader(raw);
  const ctx: DavContext = { principal, path, lockTokens: submittedTokens(ifLists) };
  if (ifLists.length) {
    const holds = await evaluateIf(ifLists, (resource) => resourceState(env, ctx, resource === null ? path : resourcePath(env, request, resource)));
    if (!holds) throw new DavStatusError(412, 'the If header does not hold');
  }
  return { ...ctx, ifLists };
}

function resourcePath(env: DavEnv, request: FastifyRequest, uri: string): string | null {
  try {
    return env.paths.pathOfUri(uri, header(request, 'host'));
  } catch {
    // A tag naming a resource outside this namespace can never match.
    return null;
  }
}

async function resourceState(env: DavEnv, ctx: DavContext, path: string | null): Promise<ResourceState> {
  if (path === null) return { etag: null, lockTokens: [] };
  let etag: string | null = null;
  try {
    etag = (await env.vfs.stat(ctx, path)).etag;
  } catch (err) {
    if (!isVfsError(err, 'NOT_FOUND') && !isVfsError(err, 'PERMISSION_DENIED') && !isVfsError(err, 'NOT_A_DIRECTORY')) throw err;
  }
  const locks = await env.vfs.activeLocks(path);
  return { etag, lockTokens: locks.map((l) => l.token) };
}

/** Reads and parses an XML request body; null when there is none. */
export async function readXml(env: DavEnv, request: FastifyRequest): Promise<XmlElement | null> {
  const body = await readSmallBody(request.raw, env.maxXmlBody);
  if (body.length === 0 || body.toString('utf8').trim() === '') return null;
  return parseXml(decodeXmlBody(body));
}
