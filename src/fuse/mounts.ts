import { readFileSync } from 'node:fs';
import path from 'node:path';

/** /proc/mounts escapes space, tab, newline and backslash as octal. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));

/** Whether a FUSE filesystem is mounted at `mountpoint` right now. */
export function isFuseMounted(mountpoint: string): boolean {
  const target = path.resolve(mountpoint);
  const lines = readFileSync('/proc/mounts', 'utf8').split('\n');
  return lines.some((line) => {
    const [, where, type] = line.split(' ');
    return where !== undefined && unescape(where) === target && (type ?? '').startsWith('fuse');
  });
}
