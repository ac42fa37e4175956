import { contentTypeOf, httpDate, rfc3339Seconds } from '../http/entity-headers.js';
import { quoteEtag } from '../http/etag-header.js';
import type { LockRecord } from '../vfs/metadata/store.js';
import { isWithin } from '../vfs/path.js';
import type { Entry } from '../vfs/types.js';
import type { DavPaths } from './paths.js';
import { escapeXml } from './xml-write.js';

/** Live properties in the DAV: namespace (RFC 4918 §15, RFC 4331). All are protected. */
export const LIVE_PROPERTIES = [
  'resourcetype',
  'getcontentlength',
  'getcontenttype',
  'getetag',
  'getlastmodified',
  'creationdate',
  'displayname',
  'supportedlock',
  'lockdiscovery',
  'quota-available-bytes',
  'quota-used-bytes',
] as const;

export type LiveProperty = (typeof LIVE_PROPERTIES)[number];

/** RFC 4331 §3: quota properties are not part of allprop. */
const NOT_IN_ALLPROP = new Set<string>(['quota-available-bytes', 'quota-used-bytes']);

export const isLiveProperty = (name: string): name is LiveProperty => (LIVE_PROPERTIES as readonly string[]).includes(name);

/** What is computed once per request and shared by every resource in it. */
export interface PropertyContext {
  paths: DavPaths;
  /** Unexpired locks that may cover the resources of this request. */
  locks: readonly LockRecord[];
  now: number;
  quota?: { used: number; available: number | null };
}

export function lockCovers(lock: LockRecord, path: string): boolean {
  return lock.path === path || (lock.depth === 'infinity' && isWithin(path, lock.path));
}

export function activeLockXml(lock: LockRecord, paths: DavPaths, now: number, rootIsCollection: boolean): string {
  const remaining = Math.max(0, Math.ceil((lock.expiresAtMs - now) / 1000));
  return (
    '<D:activelock>' +
    `<D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope>` +
    `<D:depth>${lock.depth === 'infinity' ? 'infinity' : '0'}</D:depth>` +
    (lock.ownerXml ?? '') +
    `<D:timeout>Second-${remaining}</D:timeout>` +
    `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>` +
    `<D:lockroot><D:href>${escapeXml(paths.hrefOf(lock.path, rootIsCollection))}</D:href></D:lockroot>` +
    '</D:activelock>'
  );
}

const SUPPORTED_LOCK =
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

function element(name: string, value: string): string {
  return value === '' ? `<D:${name}/>` : `<D:${name}>${value}</D:${name}>`;
}

/** The value of one live property as a complete element, or undefined when the resource has none. */
export function liveProperty(name: LiveProperty, entry: Entry, ctx: PropertyContext): string | undefined {
  const isDir = entry.type === 'directory';
  switch (name) {
    case 'resourcetype':
      return element(name, isDir ? '<D:collection/>' : '');
    case 'getcontentlength':
      return isDir ? undefined : element(name, String(entry.size));
    case 'getcontenttype':
      return isDir ? undefined : element(name, escapeXml(contentTypeOf(entry.name)));
    case 'getetag':
      return element(name, escapeXml(quoteEtag(entry.etag)));
    case 'getlastmodified':
      return element(name, httpDate(entry.mtimeMs));
    case 'creationdate':
      return element(name, rfc3339Seconds(entry.btimeMs));
    case 'displayname':
      return element(name, escapeXml(entry.path === '/' ? '' : entry.name));
    case 'supportedlock':
      return element(name, SUPPORTED_LOCK);
    case 'lockdiscovery': {
      const covering = ctx.locks.filter((l) => lockCovers(l, entry.path));
      return element(name, covering.map((l) => activeLockXml(l, ctx.paths, ctx.now, l.path === entry.path ? isDir : true)).join(''));
    }
    case 'quota-available-bytes':
      return isDir && ctx.quota && ctx.quota.available !== null ? element(name, String(ctx.quota.available)) : undefined;
    case 'quota-used-bytes':
      return isDir && ctx.quota ? element(name, String(ctx.quota.used)) : undefined;
  }
}

const ALLPROP = LIVE_PROPERTIES.filter((name) => !NOT_IN_ALLPROP.has(name));

/** The live properties allprop returns for an entry, serialised one after the other. */
export function allLivePropertiesXml(entry: Entry, ctx: PropertyContext): string {
  let out = '';
  for (const name of ALLPROP) out += liveProperty(name, entry, ctx) ?? '';
  return out;
}

/** The names of the live properties an entry has (propname). */
export function liveNames(entry: Entry, ctx: PropertyContext): string[] {
  return LIVE_PROPERTIES.filter((n) => liveProperty(n, entry, ctx) !== undefined).map((n) => `<D:${n}/>`);
}
