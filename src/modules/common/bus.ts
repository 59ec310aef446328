// One invalidation bus for every cache of every replica: a change is applied here at once and, with
// REDIS_URL, published on `<REDIS_KEY_PREFIX>invalidate`, which every replica applies within
// milliseconds. Heartbeats on the same channel prove the subscription works; while it does not
// (Redis down, subscription broken), `caches.maxAgeMs()` drops to a few seconds, so every cache reads
// through rather than trust entries that a lost message should have removed.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CacheContext } from './cache.js';
import type { Clock } from './clock.js';
import type { RedisConnections } from './redis.js';

/** What changed: a key, a session, everything about a user or an organization, or anything at all. */
export type Invalidation =
  | { keyId: string }
  | { sessionId: string }
  | { userId: string }
  | { organizationId: string }
  /** An OAuth grant, client or access token (by its jti) revoked or deleted. */
  | { oauth: OAuthInvalidation }
  | { all: true };

export interface OAuthInvalidation {
  grantId?: string;
  clientId?: string;
  jti?: string;
}

type InvalidationListener = (inv: Invalidation) => void;

export interface BusSettings {
  /** How long cached entries are still trusted while the bus is lost (CACHE_TRUST_WITHOUT_BUS_SECONDS). */
  trustWithoutBusMs: number;
  heartbeatMs?: number;
}

const MAX_UNSENT = 100;

export class InvalidationBus {
  readonly caches: CacheContext;
  private readonly origin = randomUUID();
  private readonly listeners: InvalidationListener[] = [];
  private readonly heartbeatMs: number;
  private redis?: RedisConnections;
  private sub?: Redis;
  private channel = '';
  private subscribed = false;
  private lastHeard = 0;
  private timer?: NodeJS.Timeout;
  /** Published while the connection was down: sent when it is back (a full flush beyond MAX_UNSENT). */
  private unsent: Invalidation[] = [];

  constructor(
    clock: Clock,
    private readonly log: Logger,
    readonly s: BusSettings,
  ) {
    this.heartbeatMs = s.heartbeatMs ?? 1_000;
    this.caches = { clock, maxAgeMs: () => (this.healthy() ? Infinity : s.trustWithoutBusMs) };
  }

  /** True without Redis (one replica sees all its changes) or while messages arrive. */
  healthy(): boolean {
    if (!this.redis) return true;
    return this.subscribed && performance.now() - this.lastHeard < 3 * this.heartbeatMs;
  }

  /** Apply every invalidation (local and remote) with `listener`. */
  subscribe(listener: InvalidationListener): void {
    this.listeners.push(listener);
  }

  /** Drop matching entries here at once and on every other replica. */
  invalidate(inv: Invalidation): void {
    this.applyLocal(inv);
    if (this.redis) this.send(inv);
  }

  /** Subscribe before serving: resolves once the subscription is live. */
  async connect(redis: RedisConnections): Promise<void> {
    this.redis = redis;
    this.channel = redis.name('invalidate');
    this.sub = await redis.subscriber('invalidation');
    this.sub.on('message', (_channel: string, raw: string) => this.receive(raw));
    this.sub.on('close', () => (this.subscribed = false));
    // After a reconnect messages may have been missed: subscribe again and forget everything.
    this.sub.on('ready', () => void this.resubscribe());
    await this.resubscribe();
    redis.commands.on('ready', () => this.sendUnsent());
    this.timer = setInterval(() => this.heartbeat(), this.heartbeatMs);
    this.timer.unref();
  }

  private async resubscribe(): Promise<void> {
    try {
      await this.sub!.subscribe(this.channel);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not subscribe to cache invalidations');
      return;
    }
    this.subscribed = true;
    this.lastHeard = performance.now();
    this.applyLocal({ all: true });
  }

  private receive(raw: string): void {
    let msg: { origin?: string; inv?: Invalidation };
    try {
      msg = JSON.parse(raw);
    } catch {
      return; // not ours
    }
    // A silence longer than the heartbeat bound may have swallowed messages: start afresh.
    if (!this.healthy()) this.applyLocal({ all: true });
    this.lastHeard = performance.now();
    if (msg.inv && msg.origin !== this.origin) this.applyLocal(msg.inv);
  }

  private heartbeat(): void {
    if (this.redis?.commands.status !== 'ready') return;
    this.redis.commands.publish(this.channel, JSON.stringify({ origin: this.origin })).catch(() => undefined);
  }

  private send(inv: Invalidation): void {
    const commands = this.redis!.commands;
    if (commands.status !== 'ready') {
      this.keep(inv);
      return;
    }
    commands.publish(this.channel, JSON.stringify({ origin: this.origin, inv })).catch((err: Error) => {
      this.log.warn({ err: err.message }, 'could not publish a cache invalidation; it will be sent on reconnect');
      this.keep(inv);
    });
  }

  private keep(inv: Invalidation): void {
    this.unsent = this.unsent.length >= MAX_UNSENT ? [{ all: true }] : [...this.unsent, inv];
  }

  private sendUnsent(): void {
    const unsent = this.unsent;
    this.unsent = [];
    for (const inv of unsent) this.send(inv);
  }

  private applyLocal(inv: Invalidation): void {
    for (const l of this.listeners) {
      try {
        l(inv);
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'cache invalidation listener failed');
      }
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.sub?.removeAllListeners('ready');
  }
}
