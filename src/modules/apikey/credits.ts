// Usage credits: a budget that each use takes one from, optionally refilled at fixed UTC interval
// boundaries. The database row is the counter: a use is admitted only after its decrement has
// committed, so a crash (kill -9) can lose no spent credit and every replica shares one count.
// Concurrent uses of one key are coalesced into one UPDATE (one round trip for the whole batch);
// keys without a budget never get here (zero SQL on the warm hot path).
import type { RefillInterval } from './api-key.entity.js';

const INTERVAL_MS: Record<Exclude<RefillInterval, 'month'>, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Period number of `now` (0 when there is no refill). */
export function periodOf(interval: RefillInterval | null, now: number): number {
  if (!interval) return 0;
  if (interval === 'month') {
    const d = new Date(now);
    return d.getUTCFullYear() * 12 + d.getUTCMonth() + 1;
  }
  return Math.floor(now / INTERVAL_MS[interval]) + 1;
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
  /** The stored key has no budget any more (this replica's cached record was stale). */
  unlimited?: boolean;
}

/** Runs one SQL statement with `?` placeholders on the shared pool (autocommit). */
export type Sql = <T>(sql: string, params: unknown[]) => Promise<T[]>;

// Takes up to ?n credits from key ?id in the current period ?p: a later period starts from the
// refill amount; a stored period ahead of ours (another replica's clock) keeps its count.
// `before` is what the period had before this batch; no row = the key has no budget (unlimited).
const TAKE = `update api_keys k
    set remaining = greatest(x.before - ?::bigint, 0),
        remaining_period = case when k.refill_interval is null then k.remaining_period else greatest(k.remaining_period, ?::bigint) end
   from (select id, case when remaining is null then null
                         when refill_interval is not null and remaining_period < ?::bigint then coalesce(refill_amount, 0)
                         else remaining end as before
           from api_keys where id = ? for update) x
  where k.id = x.id and x.before is not null
  returning x.before::text as before`;

/** Uses of one key waiting for the same UPDATE. */
const MAX_BATCH = 1_000;

interface Waiter {
  now: number;
  resolve(t: CreditTake): void;
  reject(e: unknown): void;
}

export class Credits {
  private readonly queues = new Map<string, Waiter[]>();

  constructor(private readonly sql: Sql) {}

  /** Take one credit durably; resolves once the decrement has committed (or the budget is spent). */
  take(b: CreditBudget, now: number): Promise<CreditTake> {
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(b.keyId);
      if (queue) return void queue.push({ now, resolve, reject });
      this.queues.set(b.keyId, [{ now, resolve, reject }]);
      void this.drain(b);
    });
  }

  // One UPDATE at a time per key: uses arriving while it runs form the next batch.
  private async drain(b: CreditBudget): Promise<void> {
    const queue = this.queues.get(b.keyId)!;
    while (queue.length) {
      const batch = queue.splice(0, MAX_BATCH);
      const period = periodOf(b.refillInterval, batch[0].now);
      try {
        const rows = await this.sql<{ before: string }>(TAKE, [batch.length, period, period, b.keyId]);
        const before = rows.length ? Number(rows[0].before) : null;
        batch.forEach((w, i) => w.resolve(before === null ? { allowed: true, remaining: 0, period, unlimited: true } : { allowed: i < before, remaining: Math.max(0, before - i - 1), period }));
      } catch (e) {
        for (const w of batch) w.reject(e);
      }
    }
    this.queues.delete(b.keyId);
  }

  async close(): Promise<void> {}
}
