/** `"abc"` ↔ `abc`. Our ETags are always strong. */
export const quoteEtag = (etag: string) => `"${etag}"`;

/**
 * Parses If-Match / If-None-Match: `*` or a list of entity tags. Weak tags
 * (W/"x") are returned without the prefix and a flag, so If-None-Match can
 * compare weakly and If-Match strongly, as RFC 9110 §13.1 requires.
 */
export function parseEtagList(header: string | undefined): '*' | Array<{ tag: string; weak: boolean }> | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return '*';
  const tags: Array<{ tag: string; weak: boolean }> = [];
  const re = /\s*(W\/)?"([^"]*)"\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null) {
    tags.push({ tag: m[2]!, weak: Boolean(m[1]) });
    if (re.lastIndex >= header.length) break;
  }
  return tags;
}

/** For If-Match: strong comparison, weak tags never match. */
export function strongTags(header: string | undefined): '*' | string[] | undefined {
  const list = parseEtagList(header);
  if (list === undefined || list === '*') return list;
  return list.filter((t) => !t.weak).map((t) => t.tag);
}

/** For If-None-Match: weak comparison. */
export function weakTags(header: string | undefined): '*' | string[] | undefined {
  const list = parseEtagList(header);
  if (list === undefined || list === '*') return list;
  return list.map((t) => t.tag);
}
