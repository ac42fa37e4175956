import { VfsError } from '../vfs/errors.js';
import { normalizeUrlPath } from '../vfs/path.js';
import type { Entry } from '../vfs/types.js';
import { DavStatusError } from './errors.js';

/** How URLs under the WebDAV prefix map to tree paths and back. */
export class DavPaths {
  /** The prefix without its trailing slash: `/dav`, which is the root too. */
  private readonly base: string;

  /** e.g. `/dav/` */
  constructor(readonly prefix: string) {
    this.base = prefix.slice(0, -1);
  }

  /** The tree path a request URI addresses; `/dav` alone is the root. */
  pathOf(rawUrl: string): string {
    if (rawUrl.includes('#')) throw new DavStatusError(400, 'a Request-URI may not contain a fragment');
    const q = rawUrl.indexOf('?');
    const pathname = q < 0 ? rawUrl : rawUrl.slice(0, q);
    if (pathname !== this.base && !pathname.startsWith(this.prefix)) throw new VfsError('NOT_FOUND', `${pathname} is outside ${this.prefix}`);
    return normalizeUrlPath(pathname.slice(this.base.length) || '/');
  }

  /** The href of a tree path; collections end in `/`. */
  hrefOf(path: string, collection = false): string {
    const encoded = path === '/' ? '' : path.split('/').slice(1).map(encodeSegment).join('/');
    const href = this.prefix + encoded;
    return collection && path !== '/' ? href + '/' : href;
  }

  hrefOfEntry(entry: Entry): string {
    return this.hrefOf(entry.path, entry.type === 'directory');
  }

  /**
   * The tree path a Destination header (or If resource tag) names: an
   * absolute URI on this server or an absolute path. Another host or a path
   * outside the prefix is another server's namespace: 502 (RFC 4918 §9.8.5).
   */
  pathOfUri(value: string, host: string | undefined): string {
    let url: URL;
    try {
      url = new URL(value, `http://${host ?? 'localhost'}`);
    } catch {
      throw new DavStatusError(400, `malformed URI: ${value}`);
    }
    if (!/^https?:$/.test(url.protocol)) throw new DavStatusError(400, `unsupported URI scheme: ${value}`);
    if (host && url.host.toLowerCase() !== host.toLowerCase()) throw new DavStatusError(502, `${value} is on another server`);
    if (url.hash) throw new DavStatusError(400, 'a Destination may not contain a fragment');
    const pathname = url.pathname;
    const base = this.prefix.slice(0, -1);
    if (pathname !== base && !pathname.startsWith(this.prefix)) throw new DavStatusError(502, `${value} is outside the WebDAV namespace ${this.prefix}`);
    return normalizeUrlPath(pathname.slice(base.length) || '/');
  }
}

const UNRESERVED = /^[A-Za-z0-9._~-]*$/;

/** Percent-encodes one path segment, keeping the characters RFC 3986 allows in a segment. */
export function encodeSegment(segment: string): string {
  if (UNRESERVED.test(segment)) return segment;
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
