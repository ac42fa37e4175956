import { VfsError } from '../errors.js';
import { isWithin } from '../path.js';
import type { Backend } from './backend.js';

export interface BackendMount {
  /** Tree path of the directory whose files go to `backend`. */
  prefix: string;
  backend: string;
}

export interface ResolvedBackend {
  name: string;
  backend: Backend;
}

/** The configured backends by name, and which one new content under a path goes to. */
export class BackendRegistry {
  private readonly mounts: BackendMount[];

  constructor(
    private readonly backends: ReadonlyMap<string, Backend>,
    private readonly defaultName: string,
    mounts: readonly BackendMount[] = [],
  ) {
    if (!backends.has(defaultName)) throw new Error(`default backend ${defaultName} is not configured`);
    for (const m of mounts) if (!backends.has(m.backend)) throw new Error(`mount ${m.prefix} names unknown backend ${m.backend}`);
    // Longest prefix first, so /archive/cold wins over /archive.
    this.mounts = [...mounts].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  forPath(path: string): ResolvedBackend {
    const mount = this.mounts.find((m) => isWithin(path, m.prefix));
    const name = mount?.backend ?? this.defaultName;
    return { name, backend: this.backends.get(name)! };
  }

  /** Whether no mount lies strictly below `path`, so the whole subtree maps to one backend. */
  uniformBelow(path: string): boolean {
    return !this.mounts.some((m) => m.prefix !== path && isWithin(m.prefix, path));
  }

  byName(name: string): Backend {
    const backend = this.backends.get(name);
    if (!backend) throw new VfsError('INTERNAL', `content refers to backend "${name}", which is not configured`);
    return backend;
  }

  /**
   * Whether content held by `contentBackend` may stay there for a file at
   * `path`: it is the backend the path maps to, or the inline store standing in
   * for node-local disk (small files are inline wherever localfs would hold them).
   */
  mayStay(contentBackend: string, path: string): boolean {
    const target = this.forPath(path);
    return target.name === contentBackend || (contentBackend === 'inline' && target.backend.type === 'localfs');
  }

  has(name: string): boolean {
    return this.backends.has(name);
  }

  entries(): Array<[string, Backend]> {
    return [...this.backends.entries()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.backends.values()].map((b) => b.close()));
  }
}
