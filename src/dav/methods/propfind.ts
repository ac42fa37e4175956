import type { FastifyReply, FastifyRequest } from 'fastify';
import { isVfsError } from '../../vfs/errors.js';
import type { DeadProperty } from '../../vfs/metadata/store.js';
import type { Entry } from '../../vfs/types.js';
import type { DavEnv } from '../env.js';
import { prepare, readXml } from '../env.js';
import { DavStatusError } from '../errors.js';
import { allLivePropertiesXml, isLiveProperty, liveNames, liveProperty, type PropertyContext } from '../live-props.js';
import { multistatusStream, okResponse, propstatResponse, type PropstatGroups } from '../multistatus.js';
import { parseDepth, type DavContext } from '../headers.js';
import { DAV_NS, elements, isDav, type XmlElement } from '../xml-parse.js';
import { emptyElement } from '../xml-write.js';

type Request = { kind: 'allprop'; include: XmlElement[] } | { kind: 'propname' } | { kind: 'prop'; names: XmlElement[] };

function parseRequest(body: XmlElement | null): Request {
  if (!body) return { kind: 'allprop', include: [] };
  if (!isDav(body, 'propfind')) throw new DavStatusError(400, 'the body of a PROPFIND must be a DAV:propfind element');
  const kids = elements(body);
  const prop = kids.find((k) => isDav(k, 'prop'));
  if (kids.some((k) => isDav(k, 'propname'))) return { kind: 'propname' };
  if (kids.some((k) => isDav(k, 'allprop'))) return { kind: 'allprop', include: elements(kids.find((k) => isDav(k, 'include')) ?? { namespace: '', name: '', attributes: [], children: [] }) };
  if (prop) return { kind: 'prop', names: elements(prop) };
  throw new DavStatusError(400, 'a DAV:propfind needs DAV:prop, DAV:allprop or DAV:propname');
}

/** PROPFIND (RFC 4918 §9.1): the multistatus is streamed while the tree is walked. */
export async function propfind(env: DavEnv, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const ctx = await prepare(env, request);
  const depth = parseDepth(request, 'infinity');
  const query = parseRequest(await readXml(env, request));
  const root = await env.vfs.stat(ctx, ctx.path);
  if (depth === 'infinity' && root.type === 'directory') {
    const count = await env.vfs.countTree(ctx, root.path, env.propfindInfinityLimit + 1);
    if (count > env.propfindInfinityLimit) throw new DavStatusError(403, `Depth: infinity would return more than ${env.propfindInfinityLimit} resources, the limit`, 'propfind-finite-depth');
  }
  const propCtx: PropertyContext = {
    paths: env.paths,
    locks: await env.vfs.locksInTree(root.path),
    now: Date.now(),
    quota: root.type === 'directory' && asksForQuota(query) ? { used: await env.vfs.usedBytes(), available: (await env.vfs.capacity())?.availableBytes ?? null } : undefined,
  };
  if (root.type === 'directory' && depth !== '0') await env.vfs.list(ctx, root.path, { limit: 1 });
  // Pages of members, each described in one go: a listing of 10,000 entries costs a few awaits per
  // page rather than several per entry, and a page is small enough to die young.
  const responses = async function* (): AsyncGenerator<string[]> {
    yield await describePage(env, ctx, [root], query, propCtx);
    if (root.type !== 'directory' || depth === '0') return;
    const members = depth === '1' ? env.vfs.pages(ctx, root.path, PAGE) : pages(env.vfs.walk(ctx, root.path), PAGE);
    for await (const page of members) yield await describePage(env, ctx, page, query, propCtx);
  };
  reply.code(207).type('application/xml; charset=utf-8');
  return reply.send(multistatusStream(responses()));
}

const PAGE = 50;

const QUOTA_PROPERTIES = new Set(['quota-available-bytes', 'quota-used-bytes']);

/**
 * Whether the answer can hold RFC 4331's quota properties. The used bytes are a sum over every file
 * in the tree, so they are computed only for a request that names them (or asks for all names,
 * which lists them where they apply), not for the property lists that clients send on every listing.
 */
function asksForQuota(query: Request): boolean {
  if (query.kind === 'propname') return true;
  const named = query.kind === 'prop' ? query.names : query.include;
  return named.some((n) => n.namespace === DAV_NS && QUOTA_PROPERTIES.has(n.name));
}

/** The responses of a page of entries. Dead properties are rare: one query says which entries have any. */
async function describePage(env: DavEnv, ctx: DavContext, page: Entry[], query: Request, propCtx: PropertyContext): Promise<string[]> {
  const holders = query.kind === 'prop' && !query.names.some(isDeadName) ? new Set<number>() : await env.vfs.propertyHolders(page);
  const out: string[] = [];
  for (const entry of page) out.push(describe(entry, query, propCtx, holders.has(entry.id) ? await deadProperties(env, ctx, entry) : []));
  return out;
}

async function* pages<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let page: T[] = [];
  for await (const item of items) {
    page.push(item);
    if (page.length === size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

const isDeadName = (n: { namespace: string; name: string }) => !(n.namespace === DAV_NS && isLiveProperty(n.name));

async function deadProperties(env: DavEnv, ctx: DavContext, entry: Entry): Promise<DeadProperty[]> {
  try {
    return await env.vfs.propertiesOf(ctx, entry);
  } catch (err) {
    if (isVfsError(err, 'PERMISSION_DENIED')) return [];
    throw err;
  }
}

function addTo(groups: PropstatGroups, status: number, value: string): void {
  const list = groups.get(status);
  if (list) list.push(value);
  else groups.set(status, [value]);
}

function describe(entry: Entry, query: Request, propCtx: PropertyContext, dead: readonly DeadProperty[]): string {
  const href = propCtx.paths.hrefOfEntry(entry);
  if (query.kind === 'allprop' && query.include.length === 0 && dead.length === 0) return okResponse(href, allLivePropertiesXml(entry, propCtx));
  const groups: PropstatGroups = new Map();
  if (query.kind === 'propname') {
    for (const n of liveNames(entry, propCtx)) addTo(groups, 200, n);
    for (const p of dead) addTo(groups, 200, emptyElement(p.namespace, p.name));
    return propstatResponse(href, groups);
  }
  if (query.kind === 'allprop') {
    groups.set(200, [allLivePropertiesXml(entry, propCtx)]);
    for (const p of dead) addTo(groups, 200, p.value);
    for (const inc of query.include) {
      if (inc.namespace === DAV_NS && isLiveProperty(inc.name) && (inc.name === 'quota-available-bytes' || inc.name === 'quota-used-bytes')) {
        const v = liveProperty(inc.name, entry, propCtx);
        if (v !== undefined) addTo(groups, 200, v);
      }
    }
    return propstatResponse(href, groups);
  }
  for (const n of query.names) {
    if (n.namespace === DAV_NS && isLiveProperty(n.name)) {
      const v = liveProperty(n.name, entry, propCtx);
      if (v !== undefined) {
        addTo(groups, 200, v);
        continue;
      }
    } else {
      const found = dead.find((p) => p.namespace === n.namespace && p.name === n.name);
      if (found) {
        addTo(groups, 200, found.value);
        continue;
      }
    }
    addTo(groups, 404, emptyElement(n.namespace, n.name));
  }
  if (groups.size === 0) groups.set(200, []);
  return propstatResponse(href, groups);
}
