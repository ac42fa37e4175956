import Database from 'better-sqlite3';
import fs, { type FileHandle } from 'node:fs/promises';

/**
 * Checkpoints of the write-ahead log whose fsyncs run in libuv's pool instead
 * of on the event loop.
 *
 * SQLite's own checkpoint (run inside a COMMIT once the log holds 1,000 frames)
 * fsyncs the log, copies its pages into the database file and fsyncs that, all
 * on the event loop: measured here under small PUTs, every request, read or
 * write, stopped for about 6 ms (up to 23 ms) every few hundred writes. Here the
 * copy still runs on the event loop (SQLite is synchronous), with SQLite's syncs
 * switched off: about 4 ms (up to 12 ms). The two fsyncs, the part that grows
 * with a slower disk, are done by this class in the same order, in libuv's pool.
 *
 * What keeps that as safe as SQLite's own checkpoint: a read transaction held by
 * a connection of its own (the guard) from before the log's fsync until after the
 * database file's.
 * - A checkpoint never copies frames past the snapshot of a reader that is still
 *   open, so only frames written before the guard began, which the fsync that
 *   follows covers, reach the database file: never a frame that might yet be
 *   lost, whichever connection or process wrote it.
 * - A writer restarts the log (overwrites it from the start) only when no reader
 *   uses it, so frames whose pages sit in the database file unsynced are kept
 *   until they are synced there; crash recovery replays them.
 * If the database file's fsync fails, the guard is never let go: the log then
 * only grows, and its frames stay the durable copy.
 */
export class WalCheckpointer {
  private readonly guard: Database.Database;
  private readonly copier: Database.Database;
  private readonly begin: Database.Statement;
  private readonly read: Database.Statement;
  private readonly end: Database.Statement;
  private readonly checkpoint: Database.Statement;
  private database: FileHandle | null = null;
  /** Set once the database file could not be synced: the guard then stays open for good. */
  private stuck = false;

  constructor(private readonly file: string) {
    this.guard = new Database(file);
    this.copier = new Database(file);
    this.guard.pragma('busy_timeout = 5000');
    this.copier.pragma('busy_timeout = 5000');
    // The copier's checkpoints skip SQLite's fsyncs; run() does them.
    this.copier.pragma('synchronous = OFF');
    this.begin = this.guard.prepare('BEGIN');
    // A deferred BEGIN takes its snapshot at the first read.
    this.read = this.guard.prepare('SELECT 1 FROM nodes LIMIT 1');
    this.end = this.guard.prepare('COMMIT');
    this.checkpoint = this.copier.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /**
   * One checkpoint. `syncLog` fsyncs the write-ahead log; if it fails, nothing is
   * copied and its error is thrown. An error syncing the database file is thrown
   * too, and leaves the log guarded (see the class comment). Only fsyncs throw.
   */
  async run(syncLog: () => Promise<void>): Promise<void> {
    if (this.stuck) return;
    try {
      this.begin.run();
      this.read.get();
    } catch {
      if (this.guard.inTransaction) this.end.run();
      return;
    }
    let release = true;
    try {
      await syncLog();
      let backfilled: number;
      try {
        backfilled = (this.checkpoint.get() as { checkpointed: number }).checkpointed;
      } catch {
        // As SQLite does with its own checkpoint's errors: the log keeps every frame, and the next checkpoint tries again.
        return;
      }
      // Nothing in the database file came from the log: nothing to sync.
      if (backfilled <= 0) return;
      try {
        this.database ??= await fs.open(this.file, 'r');
        await this.database.sync();
      } catch (err) {
        release = false;
        this.stuck = true;
        throw err;
      }
    } finally {
      if (release) this.end.run();
    }
  }

  async close(): Promise<void> {
    if (this.guard.inTransaction) this.end.run();
    this.copier.close();
    this.guard.close();
    await this.database?.close();
  }
}
