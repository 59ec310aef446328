// Usage credits: a budget that each use takes one from, atomically (one synchronous step in
// memory, one Lua script in Redis), optionally refilled at fixed UTC interval boundaries.
// A counter is named by key, budget generation and refill period; it starts from the stored value
// for the period it was written behind in, else (a new period) from the refill amount.
import type { Redis } from 'ioredis';
import { DomainError } from '../common/errors.js';
import type { RefillInterval } from './api-key.entity.js';

export const REFILL_INTERVALS: RefillInterval[] = ['minute', 'hour', 'day', 'month'];
const INTERVAL_MS: Record<Exclude<RefillInterval, 'month'>, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Counters of keys without refill live this long in Redis after their last use (the value is also written behind). */
const IDLE_TTL_MS = 7 * 86_400_000;

/** Period number of `now` (0 when there is no refill). */
export function periodOf(interval: RefillInterval | null, now: number): number {
  if (!interval) return 0;
  if (interval === 'month') {
    const d = new Date(now);
    return d.getUTCFullYear() * 12 + d.getUTCMonth() + 1;
  }
  return Math.floor(now / INTERVAL_MS[interval]) + 1;
}

/** When period `period` ends (ms), for headers and TTLs. */
export function periodEnd(interval: RefillInterval, period: number): number {
  if (interval === 'month') {
    const m = period - 1;
    return Date.UTC(Math.floor(m / 12), (m % 12) + 1, 1);
  }
  return period * INTERVAL_MS[interval];
}

export interface CreditBudget {
  keyId: string;
  generation: number;
  remaining: number;
  remainingPeriod: number;
  refillInterval: RefillInterval | null;
  refillAmount: number | null;
}

export interface CreditTake {
  allowed: boolean;
  /** Left after this use. */
  remaining: number;
  period: number;
}

export interface CreditStore {
  /** Take one credit; returns what is left (−1 when there was none). */
  take(counter: string, initial: number, ttlMs: number): Promise<number>;
  close(): Promise<void>;
}

export class MemoryCreditStore implements CreditStore {
  private readonly counters = new Map<string, { value: number; expires: number }>();
  private ops = 0;

  async take(counter: string, initial: number, ttlMs: number): Promise<number> {
    const now = Date.now();
    if (++this.ops % 10_000 === 0) for (const [k, c] of this.counters) if (c.expires <= now) this.counters.delete(k);
    let c = this.counters.get(counter);
    if (!c || c.expires <= now) {
      c = { value: initial, expires: 0 };
      this.counters.set(counter, c);
    }
    c.expires = now + ttlMs;
    if (c.value <= 0) return -1;
    return --c.value;
  }

  async close(): Promise<void> {
    this.counters.clear();
  }
}

// KEYS[1] counter; ARGV[1] initial value, ARGV[2] ttl ms. Returns what is left, or -1.
const TAKE = `
local v = redis.call('GET', KEYS[1])
if v then v = tonumber(v) else v = tonumber(ARGV[1]) end
if v <= 0 then
  redis.call('SET', KEYS[1], 0, 'PX', ARGV[2])
  return -1
end
v = v - 1
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v
`;

type WithTake = Redis & { latchkeyTakeCredit(key: string, initial: number, ttlMs: number): Promise<number> };

export class RedisCreditStore implements CreditStore {
  private readonly redis: WithTake;

  constructor(redis: Redis, private readonly prefix: string) {
    redis.defineCommand('latchkeyTakeCredit', { numberOfKeys: 1, lua: TAKE });
    this.redis = redis as WithTake;
  }

  async take(counter: string, initial: number, ttlMs: number): Promise<number> {
    try {
      return await this.redis.latchkeyTakeCredit(this.prefix + counter, initial, ttlMs);
    } catch {
      // Fail closed: without the shared counter a budget cannot be enforced.
      throw new DomainError('UNAVAILABLE', 'Usage counter unavailable, retry shortly');
    }
  }

  async close(): Promise<void> {}
}

export class Credits {
  constructor(private readonly store: CreditStore) {}

  /** The budget for the current period: the stored value, or a fresh refill in a later period. */
  static initial(b: CreditBudget, period: number): number {
    if (b.refillInterval && period !== b.remainingPeriod) return b.refillAmount ?? 0;
    return b.remaining;
  }

  async take(b: CreditBudget, now: number): Promise<CreditTake> {
    const period = periodOf(b.refillInterval, now);
    const ttl = b.refillInterval ? Math.max(1_000, periodEnd(b.refillInterval, period) - now + 60_000) : IDLE_TTL_MS;
    const left = await this.store.take(`${b.keyId}:${b.generation}:${period}`, Credits.initial(b, period), ttl);
    return { allowed: left >= 0, remaining: Math.max(0, left), period };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
