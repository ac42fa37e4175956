import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** Node ids whose rows changed: every cached path that went through one of them is stale. */
export interface Invalidation {
  ids: number[];
}

/**
 * Carries cache invalidations between the nodes of a cluster. While the bus
 * is not `healthy`, a node may have missed messages, so its cache must not
 * serve anything.
 */
export interface InvalidationBus {
  /** Announces a committed change; resolves once every later `upToDate()` on any node accounts for it. */
  publish(message: Invalidation): Promise<void>;
  /** Called for every message from another node, and with `null` when messages may have been lost. */
  subscribe(listener: (message: Invalidation | null) => void): void;
  healthy(): boolean;
  /**
   * Whether every change announced so far (on any node) has been applied here: one round trip for a
   * cluster's bus, a synchronous answer for the embedded store's, so that a cache hit there awaits nothing.
   */
  upToDate(): boolean | Promise<boolean>;
  close(): Promise<void>;
}

export interface RedisBusOptions {
  host: string;
  port: number;
  password?: string;
  /** Redis channel, `<dlm.key_prefix>invalidate`; the change counter is `<dlm.key_prefix>cache-epoch`. */
  channel: string;
  epochKey: string;
  connectTimeoutMs: number;
  onError?: (err: Error) => void;
}

// Numbering and publishing in one script makes messages leave in epoch order, with no gaps.
const PUBLISH_SCRIPT = `local n = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], n .. '|' .. ARGV[2])
return n`;

/**
 * Redis pub/sub with a change counter. Pub/sub alone is not enough: a node
 * may answer a read before it has processed a message that was published
 * before the write it concerns was acknowledged. So every change gets an
 * epoch number (INCR) and a node serves from its cache only after checking
 * that it has applied every epoch up to the counter's current value; if not,
 * the read goes to the database.
 */
export class RedisInvalidationBus implements InvalidationBus {
  private readonly origin = randomUUID();
  private readonly sub: Redis;
  private readonly pub: Redis;
  private listeners: Array<(message: Invalidation | null) => void> = [];
  private subscribed = false;
  /** Every epoch up to this one has been applied here. */
  private appliedUpTo = 0;
  /** Applied epochs above appliedUpTo (own changes are applied before earlier foreign ones arrive). */
  private readonly appliedAbove = new Set<number>();

  constructor(private readonly options: RedisBusOptions) {
    const base = {
      host: options.host,
      port: options.port,
      password: options.password,
      connectTimeout: options.connectTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    };
    // Subscribing is done by hand on every 'ready' (ioredis emits 'ready' before its own resubscribe has
    // completed), so `healthy` turns true only once messages really flow.
    this.sub = new Redis({ ...base, autoResubscribe: false });
    this.pub = new Redis(base);
    for (const client of [this.sub, this.pub]) client.on('error', (err: Error) => options.onError?.(err));
    this.sub.on('message', (channel: string, text: string) => {
      if (channel !== options.channel) return;
      const bar = text.indexOf('|');
      try {
        const epoch = Number(text.slice(0, bar));
        const parsed = JSON.parse(text.slice(bar + 1)) as { origin: string; ids: number[] };
        if (parsed.origin !== this.origin) this.emit({ ids: parsed.ids });
        this.applied(epoch);
      } catch {
        this.emit(null);
      }
    });
    // Anything published while the subscriber was away is lost: drop everything.
    this.sub.on('close', () => {
      this.subscribed = false;
      this.emit(null);
    });
    this.sub.on('ready', () => void this.resubscribe());
  }

  private async resubscribe(): Promise<void> {
    try {
      await this.sub.subscribe(this.options.channel);
      // Subscribed first, then read the counter: every later epoch will arrive as a message.
      const current = Number((await this.pub.get(this.options.epochKey)) ?? 0);
      this.emit(null);
      // Set, not raised: a Redis restarted without persistence starts counting again from 0.
      this.appliedAbove.clear();
      this.appliedUpTo = current;
      this.subscribed = true;
    } catch (err) {
      this.options.onError?.(err as Error);
      // The publisher may not be connected yet; try again shortly while the subscriber is up.
      if (this.sub.status === 'ready') setTimeout(() => void this.resubscribe(), 200).unref();
    }
  }

  private applied(epoch: number): void {
    if (!Number.isFinite(epoch) || epoch <= this.appliedUpTo) return;
    this.appliedAbove.add(epoch);
    while (this.appliedAbove.delete(this.appliedUpTo + 1)) this.appliedUpTo++;
  }

  private emit(message: Invalidation | null): void {
    for (const l of this.listeners) l(message);
  }

  subscribe(listener: (message: Invalidation | null) => void): void {
    this.listeners.push(listener);
  }

  healthy(): boolean {
    return this.subscribed && this.sub.status === 'ready' && this.pub.status === 'ready';
  }

  async upToDate(): Promise<boolean> {
    if (!this.healthy()) return false;
    try {
      const current = Number((await this.pub.get(this.options.epochKey)) ?? 0);
      return current <= this.appliedUpTo;
    } catch {
      return false;
    }
  }

  async publish(message: Invalidation): Promise<void> {
    const payload = JSON.stringify({ origin: this.origin, ids: message.ids });
    const epoch = Number(await this.pub.eval(PUBLISH_SCRIPT, 1, this.options.epochKey, this.options.channel, payload));
    // This node dropped the entries itself before publishing.
    this.applied(epoch);
  }

  async close(): Promise<void> {
    this.listeners = [];
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
