import { constants } from 'node:fs';
import { TtlCache } from './cache.js';
import { ERRNO, RemoteError, errnoOf } from './errno.js';
import { OpenFile } from './open-file.js';
import type { RemoteEntry, RemoteUsage, RestClient } from './rest-client.js';
import { statfsOf, type StatFs } from './statfs.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** chown(2) passes (uid_t)-1 for "leave unchanged". */
const UNCHANGED_ID = 0xffffffff;
const BLOCK_SIZE = 128 * 1024;
const O_ACCMODE = 3;

export interface FuseStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  dev: number;
  nlink: number;
  ino: number;
  rdev: number;
  blksize: number;
  blocks: number;
  atime: number;
  mtime: number;
  ctime: number;
}

export interface MountSettings {
  cacheTtlMs: number;
  readOnly: boolean;
  spoolDir: string;
  /** Where failures that become EIO are reported. */
  log: (message: string) => void;
}

const parentOf = (path: string) => (path.lastIndexOf('/') <= 0 ? '/' : path.slice(0, path.lastIndexOf('/')));
const nameOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** A directory this mount writes into is listed again on a lookup if it holds at most this many entries… */
const RELIST_MAX_ENTRIES = 1024;
/** …and if the mount wrote into it within this many cache TTLs. */
const RELIST_WINDOW_TTLS = 10;

/** Puts an entry into a listing in place of the one of the same name, keeping the server's byte order of names. */
function placeInListing(listing: RemoteEntry[], entry: RemoteEntry): void {
  const same = listing.findIndex((e) => e.name === entry.name);
  if (same !== -1) {
    listing[same] = entry;
    return;
  }
  const name = Buffer.from(entry.name);
  let low = 0;
  let high = listing.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (Buffer.compare(Buffer.from(listing[middle]!.name), name) < 0) low = middle + 1;
    else high = middle;
  }
  listing.splice(low, 0, entry);
}

const fail = (errno: number, message: string) => new RemoteError(errno, message);

function toStat(entry: RemoteEntry, local: { size: number; mtimeMs: number } | null): FuseStat {
  const size = local?.size ?? entry.size;
  const mtime = local?.mtimeMs || entry.mtimeMs;
  const directory = entry.type === 'directory';
  return {
    mode: (directory ? S_IFDIR : S_IFREG) | (entry.mode & 0o7777),
    uid: entry.uid,
    gid: entry.gid,
    size: directory ? 4096 : size,
    dev: 0,
    nlink: directory ? 2 : 1,
    ino: 0,
    rdev: 0,
    blksize: BLOCK_SIZE,
    blocks: Math.ceil(size / 512),
    atime: mtime,
    mtime,
    ctime: mtime,
  };
}

/** Attribute changes by a non-owner are EPERM in POSIX, where the server says "permission denied". */
function attributeError(err: unknown): unknown {
  return err instanceof RemoteError && err.errno === ERRNO.EACCES ? fail(ERRNO.EPERM, err.message) : err;
}

/**
 * The filesystem the kernel sees: every FUSE operation as calls to the /v1 REST
 * API, with attribute and directory caches (short TTL, dropped by the mount's
 * own changes) and write-back through OpenFile. Methods throw RemoteError;
 * the binding adapter turns that into -errno.
 */
export class CallFsOperations {
  /** path → entry, or null for "does not exist" (negative entry). */
  private readonly attrs: TtlCache<RemoteEntry | null>;
  private readonly listings: TtlCache<RemoteEntry[]>;
  /**
   * Small directories this mount has made or uploaded files into lately: when their listing expires, a
   * name looked up in them is answered by listing them again, one request per TTL, rather than one
   * request per name (an untar or a copy into a directory looks up every name it is about to create).
   * Only directories being written: a reader's lookups ask about one name each, as a listing costs more.
   */
  private readonly writtenDirs: TtlCache<true>;
  private readonly usage: TtlCache<{ usage: RemoteUsage | null }>;
  private readonly handles = new Map<number, OpenFile>();
  private readonly openFiles = new Map<string, OpenFile>();
  private nextHandle = 1;
  /**
   * Learned from a directory this mount made, which the server gives to the mount's principal: uid 0
   * may give any file any owner, so its chown of a file not uploaded yet cannot be refused and can
   * wait for the upload, as chmod does. Until it is known, such a chown uploads at once.
   */
  private actsAsRoot = false;
  /** A release kept a spool file whose upload failed (the spool directory must then survive the unmount). */
  keptSpoolFiles = false;

  constructor(
    private readonly client: RestClient,
    private readonly settings: MountSettings,
  ) {
    this.attrs = new TtlCache(settings.cacheTtlMs);
    this.listings = new TtlCache(settings.cacheTtlMs);
    this.writtenDirs = new TtlCache(settings.cacheTtlMs * RELIST_WINDOW_TTLS, 10_000);
    this.usage = new TtlCache(settings.cacheTtlMs, 1);
  }

  private writable(): void {
    if (this.settings.readOnly) throw fail(ERRNO.EROFS, 'read-only mount');
  }

  /** The server's answer to our own change: as fresh as asking again, so kept instead of asked for (the kernel asks for attributes right after every change). */
  private stored(path: string, entry: RemoteEntry): void {
    this.attrs.set(path, entry);
    this.listings.delete(path);
    // The parent's cached listing takes the server's answer (its expiry unchanged, so others' changes
    // still show within the TTL): files written one after another into a directory then find their
    // names free without asking the server each time.
    if (path === '/') return;
    const siblings = this.listings.get(parentOf(path));
    if (siblings) {
      placeInListing(siblings, entry);
      this.wroteInto(parentOf(path), siblings);
    }
  }

  private wroteInto(dir: string, listing: RemoteEntry[]): void {
    if (listing.length <= RELIST_MAX_ENTRIES) this.writtenDirs.set(dir, true);
    else this.writtenDirs.delete(dir);
  }

  /**
   * Forgets what the caches know about a path and its parent's listing. The parent is not listed again
   * on lookups until a readdir lists it: after a remove or rename, lookups there ask about one name each,
   * as a listing per change would cost more.
   */
  private changed(path: string, tree = false): void {
    if (tree) {
      this.attrs.deleteTree(path);
      this.listings.deleteTree(path);
      this.writtenDirs.deleteTree(path);
    } else {
      this.attrs.delete(path);
      this.listings.delete(path);
      this.writtenDirs.delete(path);
    }
    this.listings.delete(parentOf(path));
    this.writtenDirs.delete(parentOf(path));
  }

  private async lookup(path: string): Promise<RemoteEntry | null> {
    const pending = this.pendingCreate(path);
    if (pending) return pending;
    const cached = this.attrs.get(path);
    if (cached !== undefined) return cached;
    const siblings = path === '/' ? undefined : this.listings.get(parentOf(path)) ?? (await this.relist(parentOf(path)));
    if (siblings) return siblings.find((e) => e.name === nameOf(path)) ?? null;
    try {
      const entry = await this.client.stat(path);
      this.attrs.set(path, entry);
      return entry;
    } catch (err) {
      if (err instanceof RemoteError && err.errno === ERRNO.ENOENT) {
        this.attrs.set(path, null);
        return null;
      }
      if (err instanceof RemoteError && err.errno === ERRNO.EACCES && path !== '/') {
        const listed = await this.fromParentListing(path);
        if (listed) return listed;
      }
      throw err;
    }
  }

  /**
   * A directory this user may not list, or a file they may not read, answers its HEAD with 403, as its
   * GET would; but stat(2) of it only needs search permission on its parent, so its attributes come
   * from the parent's listing.
   */
  private async fromParentListing(path: string): Promise<RemoteEntry | null> {
    try {
      const siblings = await this.listAndCache(parentOf(path));
      return siblings.find((e) => e.name === nameOf(path)) ?? null;
    } catch {
      return null;
    }
  }

  /** Lists a directory and caches what it holds. */
  private async listAndCache(path: string): Promise<RemoteEntry[]> {
    const entries = await this.client.list(path);
    this.listings.set(path, entries);
    if (entries.length > RELIST_MAX_ENTRIES) this.writtenDirs.delete(path);
    for (const entry of entries) this.attrs.set(path === '/' ? `/${entry.name}` : `${path}/${entry.name}`, entry);
    return entries;
  }

  /** A fresh listing of a small directory this mount writes into (see writtenDirs); null for any other. */
  private async relist(path: string): Promise<RemoteEntry[] | null> {
    if (!this.writtenDirs.get(path)) return null;
    try {
      return await this.listAndCache(path);
    } catch {
      // Gone, or no longer a directory: the caller asks about the name itself.
      this.writtenDirs.delete(path);
      return null;
    }
  }

  /** A file created here and not uploaded yet, as an entry (it exists for the kernel already). */
  private pendingCreate(path: string): RemoteEntry | null {
    const file = this.openFiles.get(path);
    const mode = file?.pendingCreateMode;
    if (!file || mode === null || mode === undefined) return null;
    const owner = file.pendingCreateOwner;
    return { name: nameOf(path), type: 'file', size: 0, mode, uid: owner.uid ?? process.getuid?.() ?? 0, gid: owner.gid ?? process.getgid?.() ?? 0, mtimeMs: Date.now() };
  }

  /** Uploads a file that exists only here yet, before an operation that needs it on the server. */
  private async materialize(path: string): Promise<void> {
    const file = this.openFiles.get(path);
    if (file && file.pendingCreateMode !== null) await this.upload(file);
  }

  private async existing(path: string): Promise<RemoteEntry> {
    const entry = await this.lookup(path);
    if (!entry) throw fail(ERRNO.ENOENT, `no such file or directory: ${path}`);
    return entry;
  }

  /** A fresh answer from the server, for decisions that must not rest on a stale cache. */
  private async fresh(path: string): Promise<RemoteEntry | null> {
    this.attrs.delete(path);
    return this.lookup(path);
  }

  private handle(fh: number): OpenFile {
    const file = this.handles.get(fh);
    if (!file) throw fail(ERRNO.EBADF, `unknown file handle ${fh}`);
    return file;
  }

  async getattr(path: string): Promise<FuseStat> {
    const entry = await this.existing(path);
    return toStat(entry, this.openFiles.get(path)?.localAttributes() ?? null);
  }

  async readdir(path: string): Promise<{ names: string[]; stats: FuseStat[] }> {
    const entries = this.listings.get(path) ?? (await this.listAndCache(path));
    const self = await this.existing(path);
    const names = ['.', '..'];
    const stats = [toStat(self, null), toStat(self, null)];
    const prefix = path === '/' ? '/' : `${path}/`;
    const listed = new Set(entries.map((e) => e.name));
    const pending: RemoteEntry[] = [];
    for (const open of this.openFiles.keys()) {
      const name = open.slice(prefix.length);
      if (open.startsWith(prefix) && !name.includes('/') && !listed.has(name)) pending.push(...[this.pendingCreate(open)].filter((e) => e !== null));
    }
    for (const entry of [...entries, ...pending]) {
      const child = path === '/' ? `/${entry.name}` : `${path}/${entry.name}`;
      names.push(entry.name);
      stats.push(toStat(entry, this.openFiles.get(child)?.localAttributes() ?? null));
    }
    return { names, stats };
  }

  private attach(path: string, remoteSize: number, createMode?: number): number {
    let file = this.openFiles.get(path);
    if (!file) {
      file = new OpenFile(path, remoteSize, this.client, this.settings.spoolDir, { createMode });
      this.openFiles.set(path, file);
    }
    file.refs++;
    const fh = this.nextHandle++;
    this.handles.set(fh, file);
    return fh;
  }

  async open(path: string, flags: number): Promise<number> {
    if ((flags & O_ACCMODE) !== constants.O_RDONLY || flags & constants.O_TRUNC) this.writable();
    const entry = this.openFiles.has(path) ? await this.existing(path) : await this.fresh(path);
    if (!entry) throw fail(ERRNO.ENOENT, `no such file: ${path}`);
    if (entry.type === 'directory') throw fail(ERRNO.EISDIR, `${path} is a directory`);
    const fh = this.attach(path, entry.size);
    if (flags & constants.O_TRUNC) await this.handle(fh).truncate(0);
    return fh;
  }

  async create(path: string, mode: number): Promise<number> {
    this.writable();
    const parent = await this.existing(parentOf(path));
    if (parent.type !== 'directory') throw fail(ERRNO.ENOTDIR, `${parentOf(path)} is not a directory`);
    const existing = this.openFiles.get(path);
    if (existing) {
      // Another handle has it open: O_CREAT on an existing file opens (and the kernel truncates if asked).
      return this.attach(path, 0);
    }
    // Uploaded on the first flush (one PUT per new file); until then it exists for the kernel only,
    // and lookups and listings show it from the open files.
    this.attrs.delete(path);
    return this.attach(path, 0, mode & 0o7777);
  }

  read(_path: string, fh: number, target: Buffer, length: number, offset: number): Promise<number> {
    return this.handle(fh).read(target, length, offset);
  }

  async write(_path: string, fh: number, data: Buffer, length: number, offset: number): Promise<number> {
    this.writable();
    return this.handle(fh).write(data, length, offset);
  }

  private async upload(file: OpenFile, owner?: { uid?: number; gid?: number }): Promise<void> {
    const stored = await file.flush(owner);
    if (stored) this.stored(file.path, stored);
  }

  async flush(_path: string, fh: number): Promise<void> {
    await this.upload(this.handle(fh));
  }

  async fsync(_path: string, fh: number): Promise<void> {
    await this.upload(this.handle(fh));
  }

  async release(_path: string, fh: number): Promise<void> {
    const file = this.handle(fh);
    this.handles.delete(fh);
    file.refs--;
    if (file.refs > 0) return;
    try {
      await this.upload(file);
    } finally {
      if (file.refs === 0) {
        if (this.openFiles.get(file.path) === file) this.openFiles.delete(file.path);
        const kept = await file.dispose();
        if (kept) {
          this.keptSpoolFiles = true;
          this.settings.log(`could not upload ${file.path}; its content is kept in ${kept}`);
        }
      }
    }
  }

  async truncate(path: string, size: number): Promise<void> {
    this.writable();
    const open = this.openFiles.get(path);
    if (open) {
      await open.truncate(size);
      return;
    }
    const entry = await this.existing(path);
    if (entry.type === 'directory') throw fail(ERRNO.EISDIR, `${path} is a directory`);
    if (size === 0) {
      await this.client.putEmpty(path);
    } else {
      const file = new OpenFile(path, entry.size, this.client, this.settings.spoolDir);
      try {
        await file.truncate(size);
        await file.flush();
      } finally {
        await file.dispose();
      }
    }
    this.changed(path);
  }

  async ftruncate(_path: string, fh: number, size: number): Promise<void> {
    this.writable();
    await this.handle(fh).truncate(size);
  }

  private async patchAttributes(path: string, body: Parameters<RestClient['patch']>[1]): Promise<void> {
    this.writable();
    try {
      this.stored(path, await this.client.patch(path, body));
    } catch (err) {
      this.changed(path);
      throw attributeError(err);
    }
  }

  async utimens(path: string, _atimeMs: number | null, mtimeMs: number | null): Promise<void> {
    this.writable();
    // The server keeps no atime: an atime-only change (touch -a) leaves everything as it is.
    if (mtimeMs === null) return;
    if (this.openFiles.get(path)?.deferMtime(mtimeMs)) return;
    await this.materialize(path);
    await this.patchAttributes(path, { mtime: new Date(mtimeMs).toISOString() });
  }

  async chmod(path: string, mode: number): Promise<void> {
    this.writable();
    // A file created here and not uploaded yet is ours: it will be created with this mode.
    if (this.openFiles.get(path)?.deferMode(mode & 0o7777)) return;
    await this.materialize(path);
    await this.patchAttributes(path, { mode: mode & 0o7777 });
  }

  async chown(path: string, uid: number, gid: number): Promise<void> {
    const body: { uid?: number; gid?: number } = {};
    if (uid !== UNCHANGED_ID && uid !== -1) body.uid = uid;
    if (gid !== UNCHANGED_ID && gid !== -1) body.gid = gid;
    if (Object.keys(body).length === 0) return;
    this.writable();
    const pending = this.openFiles.get(path);
    if (pending && pending.pendingCreateMode !== null) {
      if (this.actsAsRoot && pending.deferOwner(body)) return;
      // A file not on the server yet is created with its owner: one PUT. If the server refuses the
      // owner, nothing is created, chown fails here, and the content still goes up on close.
      try {
        await this.upload(pending, body);
      } catch (err) {
        throw attributeError(err);
      }
      return;
    }
    await this.patchAttributes(path, body);
  }

  async mkdir(path: string, mode: number): Promise<void> {
    this.writable();
    try {
      this.actsAsRoot = (await this.client.mkdir(path, mode)).uid === 0;
    } finally {
      this.changed(path);
    }
    // Made just now, so empty as far as this mount can know for a cache TTL: what is created in it
    // next needs no lookup on the server.
    const listing: RemoteEntry[] = [];
    this.listings.set(path, listing);
    this.wroteInto(path, listing);
  }

  async unlink(path: string): Promise<void> {
    this.writable();
    const entry = await this.existing(path);
    if (entry.type === 'directory') throw fail(ERRNO.EISDIR, `${path} is a directory`);
    await this.materialize(path);
    try {
      await this.client.remove(path);
    } finally {
      this.changed(path);
    }
  }

  async rmdir(path: string): Promise<void> {
    this.writable();
    const entry = await this.existing(path);
    if (entry.type !== 'directory') throw fail(ERRNO.ENOTDIR, `${path} is not a directory`);
    try {
      await this.client.remove(path);
    } finally {
      this.changed(path, true);
    }
  }

  /**
   * rename(2) rules, checked here because the server's overwrite replaces a
   * whole tree: a file cannot replace a directory (EISDIR), a directory cannot
   * replace a file (ENOTDIR) or a non-empty directory (ENOTEMPTY).
   */
  async rename(from: string, to: string): Promise<void> {
    this.writable();
    if (from === to) return;
    await this.materialize(from);
    const source = await this.fresh(from);
    if (!source) throw fail(ERRNO.ENOENT, `no such file or directory: ${from}`);
    const target = await this.fresh(to);
    if (target) {
      if (source.type === 'file' && target.type === 'directory') throw fail(ERRNO.EISDIR, `${to} is a directory`);
      if (source.type === 'directory' && target.type === 'file') throw fail(ERRNO.ENOTDIR, `${to} is not a directory`);
      if (target.type === 'directory' && (await this.client.list(to)).length > 0) throw fail(ERRNO.ENOTEMPTY, `${to} is not empty`);
    }
    try {
      await this.client.patch(from, { destination: to, overwrite: target !== null });
    } finally {
      this.changed(from, true);
      this.changed(to, true);
    }
    this.moveOpenFiles(from, to);
  }

  /** Open files below a renamed path upload to their new path. */
  private moveOpenFiles(from: string, to: string): void {
    for (const [path, file] of [...this.openFiles]) {
      const moved = path === from ? to : path.startsWith(from + '/') ? to + path.slice(from.length) : null;
      if (moved === null) continue;
      this.openFiles.delete(path);
      const displaced = this.openFiles.get(moved);
      if (displaced && displaced !== file) displaced.detach();
      file.path = moved;
      this.openFiles.set(moved, file);
    }
  }

  /** df of the mount: the server's figures, asked for at most once per cache TTL. */
  async statfs(): Promise<StatFs> {
    const cached = this.usage.get('/');
    if (cached) return statfsOf(cached.usage);
    const usage = await this.client.usage();
    this.usage.set('/', { usage });
    return statfsOf(usage);
  }

  /** Uploads every pending write (before unmounting). Returns the paths that failed. */
  async flushAll(): Promise<string[]> {
    const failed: string[] = [];
    for (const file of new Set(this.openFiles.values())) {
      await this.upload(file).catch((err: unknown) => {
        failed.push(file.path);
        this.settings.log(`could not upload ${file.path}: ${(err as Error).message}`);
      });
    }
    return failed;
  }

  /** Logs a failure that becomes EIO; returns the errno. */
  errnoFor(op: string, path: string, err: unknown): number {
    const errno = errnoOf(err);
    if (errno === ERRNO.EIO) this.settings.log(`${op} ${path}: ${(err as Error)?.message ?? String(err)}`);
    return errno;
  }
}
