/**
 * The libfuse binding, loaded only when a mount is asked for: it is an optional
 * dependency, and the server must install and run where FUSE is absent.
 */

type Callback = (result: number, ...values: unknown[]) => void;
export type FuseOperations = Record<string, (...args: never[]) => void>;

export interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}

export interface FuseModule {
  new (mountpoint: string, ops: Record<string, (...args: [...unknown[], Callback]) => void>, options: Record<string, unknown>): FuseInstance;
  /** Set by patches/@cocalc+fuse-native+2.4.3.patch when the addon was built from the patched source. */
  UTIME_OMIT_OK?: boolean;
}

export const INSTALL_HINT = `callfs mount needs the FUSE binding @cocalc/fuse-native (an optional dependency), built against libfuse 2:
  Debian/Ubuntu:  apt-get install libfuse-dev pkg-config libfuse2 fuse3
  then, in the CallFS installation directory:  npm rebuild @cocalc/fuse-native && node scripts/patch-fuse-native.mjs`;

const FUSE_PACKAGE: string = '@cocalc/fuse-native';

export async function loadFuse(): Promise<FuseModule> {
  let mod: unknown;
  try {
    // A variable specifier: the package is optional, so the build must not need its types.
    mod = await import(FUSE_PACKAGE);
  } catch (err) {
    throw new Error(`${INSTALL_HINT}\n(loading it failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const Fuse = ((mod as { default?: unknown }).default ?? mod) as FuseModule;
  if (Fuse.UTIME_OMIT_OK !== true) {
    throw new Error(
      'the installed @cocalc/fuse-native is not patched, so it would drop modification times (touch -m, tar, rsync -a).\n' +
        'Apply the patch and rebuild: node scripts/patch-fuse-native.mjs (runs on npm install as postinstall)',
    );
  }
  return Fuse;
}
