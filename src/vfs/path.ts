import { VfsError } from './errors.js';

export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

// C0 controls and DEL. Names are otherwise byte-exact: no Unicode normalisation.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalid(message: string, raw: string): VfsError {
  return new VfsError('INVALID_PATH', message, { path: raw });
}

/**
 * The single path normaliser of CallFS. Input is an already percent-decoded
 * path; output starts with `/`, has no empty, `.` or `..` segments and no
 * trailing slash (except the root itself). A `..` that would climb above the
 * root is refused rather than clamped, so a hostile path never silently
 * aliases another file.
 */
export function normalizePath(raw: string): string {
  if (typeof raw !== 'string') throw invalid('path must be a string', String(raw));
  if (CONTROL.test(raw)) throw invalid('path contains a NUL or control character', raw);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: byte lengths are counted only when they could exceed a limit.
  if (raw.length * 3 > MAX_PATH_BYTES && Buffer.byteLength(raw, 'utf8') > MAX_PATH_BYTES) throw invalid(`path is longer than ${MAX_PATH_BYTES} bytes`, raw);
  if (!isWellFormedUtf16(raw)) throw invalid('path is not valid UTF-8', raw);
  // Most paths arrive normal already (every request's is normalised by its front end and again here).
  if (isNormal(raw)) return raw;
  const out: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) throw invalid('path escapes the root with ..', raw);
      out.pop();
      continue;
    }
    if (segment.length * 3 > MAX_NAME_BYTES && Buffer.byteLength(segment, 'utf8') > MAX_NAME_BYTES) throw invalid(`name is longer than ${MAX_NAME_BYTES} bytes`, raw);
    out.push(segment);
  }
  return '/' + out.join('/');
}

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Whether normalizePath would return `raw` unchanged: it starts with `/`, has no
 * empty, `.` or `..` segment and no trailing slash. One scan, no allocation; a
 * name long enough that its UTF-8 length must be counted is left to the full path.
 */
function isNormal(raw: string): boolean {
  if (raw.charCodeAt(0) !== SLASH) return false;
  if (raw.length === 1) return true;
  let start = 1;
  for (let i = 1; i <= raw.length; i++) {
    if (i < raw.length && raw.charCodeAt(i) !== SLASH) continue;
    const length = i - start;
    if (length === 0 || length * 3 > MAX_NAME_BYTES) return false;
    if (raw.charCodeAt(start) === DOT && (length === 1 || (length === 2 && raw.charCodeAt(start + 1) === DOT))) return false;
    start = i + 1;
  }
  return true;
}

/** Decodes a URL path (percent-encoding) and normalises it; bad escapes are INVALID_PATH. */
export function normalizeUrlPath(encoded: string): string {
  let decoded = encoded;
  try {
    // Most request paths have nothing escaped; decodeURIComponent is a call into the runtime even then.
    if (encoded.includes('%')) decoded = decodeURIComponent(encoded);
  } catch {
    throw invalid('path has a malformed percent-escape or is not UTF-8', encoded);
  }
  return normalizePath(decoded);
}

function isWellFormedUtf16(s: string): boolean {
  // Lone surrogates come from a %ED%A0%80-style escape or a broken client;
  // they cannot be stored byte-exact, so they are refused. (String#isWellFormed is ES2024, in Node 20.)
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/** How many names a normalised path has: 0 for the root. Counted without splitting: it runs on every lookup. */
export function depthOf(path: string): number {
  if (path === '/') return 0;
  let depth = 0;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) depth++;
  return depth;
}

export function parentOf(path: string): string {
  if (path === '/') return '/';
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `path` is `ancestor` itself or lies beneath it. */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === '/') return true;
  return path === ancestor || path.startsWith(ancestor + '/');
}

/** `/a/b/c` → [`/`, `/a`, `/a/b`]: every directory that must be searchable to reach the path. */
export function ancestorsOf(path: string): string[] {
  const result = ['/'];
  if (path === '/') return [];
  const parts = path.split('/').filter(Boolean);
  let current = '';
  for (let i = 0; i < parts.length - 1; i++) {
    current += '/' + parts[i];
    result.push(current);
  }
  return result;
}
