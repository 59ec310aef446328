// In-process limiter: exact under concurrency because check and increment run with no await
// between them on the one JavaScript thread. Per replica only; REDIS_URL shares limits.
import type { Clock } from '../common/clock.js';
import type { RateLimiter, RateLimitResult } from './rate-limiter.js';

interface Window {
  count: number;
  resetAt: number;
}

const SWEEP_EVERY = 10_000;

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private hits = 0;

  constructor(private readonly clock: Clock) {}

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
    const now = this.clock.now().getTime();
    if (++this.hits % SWEEP_EVERY === 0) this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.windows.set(key, w);
    }
    w.count++;
    const resetSeconds = Math.max(1, Math.ceil((w.resetAt - now) / 1000));
    return { allowed: w.count <= limit, limit, remaining: Math.max(0, limit - w.count), resetSeconds };
  }

  /** Drop finished windows so memory stays proportional to active keys. */
  private sweep(now: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }

  async close(): Promise<void> {
    this.windows.clear();
  }
}
