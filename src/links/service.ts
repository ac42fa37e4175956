import type { Readable } from 'node:stream';
import { VfsError } from '../vfs/errors.js';
import type { LinkConsumeResult } from '../vfs/metadata/store.js';
import { ROOT_PRINCIPAL, type Entry } from '../vfs/types.js';
import type { OpContext, Vfs } from '../vfs/vfs.js';
import { LinkTokens } from './token.js';

export const MAX_LINK_SECONDS = 86_400;
/** Spent and expired links are kept this long so that they answer 410, not 404. */
const KEEP_EXPIRED_MS = 24 * 3600 * 1000;

export type DownloadOutcome =
  | { status: 'success'; entry: Entry; stream: Readable | Buffer }
  | { status: Exclude<LinkConsumeResult['status'], 'success'> | 'invalid' };

/** Single-use download links: issued for a readable file, consumed exactly once across all nodes. */
export class LinkService {
  private readonly tokens: LinkTokens;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly vfs: Vfs,
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = new LinkTokens(secret);
  }

  async create(ctx: OpContext, path: string, expirySeconds: number): Promise<{ token: string; expiresAtMs: number; entry: Entry }> {
    if (!Number.isInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > MAX_LINK_SECONDS) {
      throw new VfsError('INVALID_ARGUMENT', `expiry_seconds must be an integer from 1 to ${MAX_LINK_SECONDS}`);
    }
    // The creator must be able to read the file now.
    const { entry } = await this.vfs.openForRead(ctx, path);
    const { id, token } = this.tokens.issue();
    const now = this.now();
    const expiresAtMs = now + expirySeconds * 1000;
    await this.vfs.store.insertLink({ id, path: entry.path, createdBy: ctx.principal.name, createdAtMs: now, expiresAtMs, usedAtMs: null });
    return { token, expiresAtMs, entry };
  }

  /**
   * Marks the link used (one atomic conditional update, so exactly one of any
   * number of concurrent callers on any node wins) and opens the file.
   */
  async consume(token: string): Promise<DownloadOutcome> {
    const id = this.tokens.verify(token);
    if (!id) return { status: 'invalid' };
    const result = await this.vfs.store.consumeLink(id, this.now());
    if (result.status !== 'success') return { status: result.status };
    const { entry, open } = await this.vfs.openForRead({ principal: ROOT_PRINCIPAL }, result.link.path);
    return { status: 'success', entry, stream: await open() };
  }

  startSweeper(intervalMs = 10 * 60_000, onError: (err: unknown) => void = () => {}): void {
    this.sweeper = setInterval(() => {
      this.vfs.store.deleteExpiredLinks(this.now() - KEEP_EXPIRED_MS).catch(onError);
    }, intervalMs);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }
}
