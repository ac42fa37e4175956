import { VfsError } from '../vfs/errors.js';

/** One condition of an If header list: a state token or an entity tag, possibly negated. */
export type IfCondition = { not: boolean; kind: 'token'; token: string } | { not: boolean; kind: 'etag'; etag: string; weak: boolean };

export interface IfList {
  /** The Resource-Tag URL of a tagged list, or null for a No-tag-list (the request URI). */
  resource: string | null;
  conditions: IfCondition[];
}

const bad = (message: string) => new VfsError('INVALID_ARGUMENT', `malformed If header: ${message}`);

/**
 * Parses an If header (RFC 4918 §10.4): either only No-tag-lists or only
 * Tagged-lists, each list a parenthesised sequence of conditions.
 */
export function parseIfHeader(header: string): IfList[] {
  const lists: IfList[] = [];
  let i = 0;
  let tagged: boolean | null = null;
  let resource: string | null = null;
  const skipSpace = () => {
    while (i < header.length && /[ \t\r\n]/.test(header[i]!)) i++;
  };
  const readUntil = (close: string) => {
    const end = header.indexOf(close, i);
    if (end < 0) throw bad(`missing ${close}`);
    const value = header.slice(i, end);
    i = end + 1;
    return value;
  };
  skipSpace();
  if (i >= header.length) throw bad('empty header');
  while (i < header.length) {
    const c = header[i];
    if (c === '<') {
      if (tagged === false) throw bad('tagged and untagged lists mixed');
      tagged = true;
      i++;
      resource = readUntil('>').trim();
      if (!resource) throw bad('empty resource tag');
      skipSpace();
      if (header[i] !== '(') throw bad('a resource tag must be followed by a list');
    } else if (c === '(') {
      if (tagged === null) tagged = false;
      i++;
      const conditions: IfCondition[] = [];
      for (;;) {
        skipSpace();
        if (header[i] === ')') {
          i++;
          break;
        }
        let not = false;
        if (header.slice(i, i + 3).toLowerCase() === 'not' && /[ \t<[]/.test(header[i + 3] ?? '')) {
          not = true;
          i += 3;
          skipSpace();
        }
        if (header[i] === '<') {
          i++;
          const token = readUntil('>').trim();
          if (!token || /\s/.test(token)) throw bad('malformed state token');
          conditions.push({ not, kind: 'token', token });
        } else if (header[i] === '[') {
          i++;
          const raw = readUntil(']').trim();
          const m = /^(W\/)?"([^"]*)"$/.exec(raw);
          if (!m) throw bad('malformed entity tag');
          conditions.push({ not, kind: 'etag', etag: m[2]!, weak: Boolean(m[1]) });
        } else {
          throw bad(i >= header.length ? 'unterminated list' : `unexpected ${JSON.stringify(header[i])}`);
        }
      }
      if (conditions.length === 0) throw bad('empty list');
      lists.push({ resource: tagged ? resource : null, conditions });
    } else {
      throw bad(`unexpected ${JSON.stringify(c)}`);
    }
    skipSpace();
  }
  return lists;
}

/** What the evaluator needs to know about one resource. */
export interface ResourceState {
  /** Current strong ETag (unquoted), or null when the resource is unmapped. */
  etag: string | null;
  /** Tokens of the locks that cover the resource. */
  lockTokens: readonly string[];
}

/**
 * Evaluates parsed lists: the header holds when at least one list holds, and a
 * list holds when every condition in it does. ETags compare strongly (a weak
 * tag never matches), state tokens match a lock covering the resource.
 */
export async function evaluateIf(lists: readonly IfList[], stateOf: (resource: string | null) => Promise<ResourceState>): Promise<boolean> {
  const cache = new Map<string | null, Promise<ResourceState>>();
  const state = (resource: string | null) => {
    let s = cache.get(resource);
    if (!s) cache.set(resource, (s = stateOf(resource)));
    return s;
  };
  for (const list of lists) {
    const s = await state(list.resource);
    const holds = list.conditions.every((c) => {
      const match = c.kind === 'token' ? s.lockTokens.includes(c.token) : !c.weak && s.etag !== null && s.etag === c.etag;
      return c.not ? !match : match;
    });
    if (holds) return true;
  }
  return false;
}

/** Lock tokens the request submits: every non-negated state token in the header. */
export function submittedTokens(lists: readonly IfList[]): string[] {
  const tokens = new Set<string>();
  for (const list of lists) for (const c of list.conditions) if (c.kind === 'token' && !c.not) tokens.add(c.token);
  return [...tokens];
}
