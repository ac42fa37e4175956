import { parseMountOptions, runMount, unmount } from './mount.js';

export interface MountCommandOptions {
  apiKey?: string;
  cacheTtl: string;
  timeout: string;
  readOnly?: boolean;
  options: string[];
}

function seconds(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new Error(`${flag} must be a number of seconds${min > 0 ? ' above 0' : ' (0 or more)'}, got ${JSON.stringify(value)}`);
  return n;
}

/** `callfs mount <server-url> <mountpoint>`: validates the flags, then serves until unmounted. */
export async function mountCommand(serverUrl: string, mountpoint: string, options: MountCommandOptions): Promise<void> {
  await runMount({
    serverUrl,
    mountpoint,
    apiKey: options.apiKey ?? process.env.CALLFS_API_KEY,
    cacheTtlSeconds: seconds(options.cacheTtl, '--cache-ttl', 0),
    timeoutSeconds: seconds(options.timeout, '--timeout', 0.001),
    readOnly: options.readOnly === true,
    mountOptions: parseMountOptions(options.options),
  });
}

export function unmountCommand(mountpoint: string): void {
  unmount(mountpoint);
}
