// Cache invalidations reach every replica: applied locally at once, and with REDIS_URL published on
// a channel that every replica (this one included, harmlessly) applies within milliseconds.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { KeyInvalidation } from './key-cache.js';

const CHANNEL = 'latchkey:apikey:invalidate';

export class InvalidationBus {
  private readonly origin = randomUUID();
  private sub?: Redis;
  private pub?: Redis;

  constructor(
    /** Applies an invalidation to this replica's caches; `remote` when it came from another replica. */
    private readonly apply: (inv: KeyInvalidation, remote: boolean) => void,
    private readonly log: Logger,
  ) {}

  /** Subscribe before serving: resolves once the subscription is live. */
  async connect(redisUrl: string): Promise<void> {
    this.pub = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
    this.sub = new Redis(redisUrl, { maxRetriesPerRequest: null });
    for (const r of [this.pub, this.sub]) r.on('error', (err) => this.log.warn({ err: err.message }, 'redis error (api key invalidation)'));
    this.sub.on('message', (_channel: string, raw: string) => {
      try {
        const msg = JSON.parse(raw) as { origin: string; inv: KeyInvalidation };
        if (msg.origin !== this.origin) this.apply(msg.inv, true);
      } catch {
        /* not ours */
      }
    });
    // After a reconnect, messages may have been missed: forget everything rather than serve stale keys.
    this.sub.on('ready', () => this.apply({ all: true }, true));
    await this.sub.subscribe(CHANNEL);
  }

  /** Drop matching entries here and on every other replica. */
  invalidate(inv: KeyInvalidation): void {
    this.apply(inv, false);
    if (!this.pub) return;
    this.pub.publish(CHANNEL, JSON.stringify({ origin: this.origin, inv })).catch((err: Error) => {
      this.log.error({ err: err.message }, 'could not publish an api key invalidation');
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.sub?.quit(), this.pub?.quit()]);
  }
}
