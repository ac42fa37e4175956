import type { FastifyReply, FastifyRequest } from 'fastify';
import { isVfsError } from '../../vfs/errors.js';
import type { Entry } from '../../vfs/types.js';
import type { DavEnv } from '../env.js';
import { prepare, readXml } from '../env.js';
import { DavStatusError } from '../errors.js';
import { allLiveProperties, isLiveProperty, liveNames, liveProperty, type PropertyContext } from '../live-props.js';
import { multistatusStream, propstatResponse, type PropstatGroups } from '../multistatus.js';
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
    const count = await env.vfs.countTree(ctx, root.path);
    if (count > env.propfindInfinityLimit) throw new DavStatusError(403, `Depth: infinity would return ${count} resources; the limit is ${env.propfindInfinityLimit}`, 'propfind-finite-depth');
  }
  const wantsQuota = query.kind !== 'allprop' || query.include.length > 0;
  const propCtx: PropertyContext = {
    paths: env.paths,
    locks: await env.vfs.locksInTree(root.path),
    now: Date.now(),
    quota: wantsQuota && root.type === 'directory' ? { used: await env.vfs.usedBytes(), available: await env.availableBytes() } : undefined,
  };
  if (root.type === 'directory' && depth !== '0') await env.vfs.list(ctx, root.path, { limit: 1 });
  const entries = async function* (): AsyncGenerator<Entry> {
    yield root;
    if (root.type !== 'directory' || depth === '0') return;
    // Large pages: the per-page cost dominates a 10,000-entry listing, and 5,000 rows stay small.
    if (depth === '1') yield* env.vfs.iterate(ctx, root.path, 5000);
    else yield* env.vfs.walk(ctx, root.path);
  };
  const responses = async function* () {
    // Dead properties are rare: one query per page says which entries have any, instead of one query per entry.
    for await (const page of pages(entries(), 1000)) {
      const holders = query.kind === 'prop' && !query.names.some(isDeadName) ? new Set<number>() : await env.vfs.propertyHolders(page);
      for (const entry of page) yield await describe(env, ctx, entry, query, propCtx, holders.has(entry.id));
    }
  };
  reply.code(207).type('application/xml; charset=utf-8');
  return reply.send(multistatusStream(responses()));
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

async function deadProperties(env: DavEnv, ctx: DavContext, entry: Entry, hasDead: boolean) {
  if (!hasDead) return [];
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

async function describe(env: DavEnv, ctx: DavContext, entry: Entry, query: Request, propCtx: PropertyContext, hasDead: boolean): Promise<string> {
  const groups: PropstatGroups = new Map();
  const href = env.paths.hrefOfEntry(entry);
  if (query.kind === 'propname') {
    for (const n of liveNames(entry, propCtx)) addTo(groups, 200, n);
    for (const p of await deadProperties(env, ctx, entry, hasDead)) addTo(groups, 200, emptyElement(p.namespace, p.name));
    return propstatResponse(href, groups);
  }
  if (query.kind === 'allprop') {
    for (const v of allLiveProperties(entry, propCtx)) addTo(groups, 200, v);
    const dead = await deadProperties(env, ctx, entry, hasDead);
    for (const p of dead) addTo(groups, 200, p.value);
    for (const inc of query.include) {
      if (inc.namespace === DAV_NS && isLiveProperty(inc.name) && (inc.name === 'quota-available-bytes' || inc.name === 'quota-used-bytes')) {
        const v = liveProperty(inc.name, entry, propCtx);
        if (v !== undefined) addTo(groups, 200, v);
      }
    }
    if (groups.size === 0) groups.set(200, []);
    return propstatResponse(href, groups);
  }
  const needsDead = query.names.some(isDeadName);
  const dead = needsDead ? await deadProperties(env, ctx, entry, hasDead) : [];
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
