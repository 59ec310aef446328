// Fixed-window counters: `hit` counts one request against key and says whether it fits the limit.
// Shared by the auth throttles and per-key API limits.
import { RateLimitedError } from '../common/errors.js';

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  /** Requests left in the current window (0 once refused). */
  remaining: number;
  /** Seconds until the window resets (at least 1). */
  resetSeconds: number;
}

export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult>;
  close(): Promise<void>;
}

/** Count one request; throw RateLimitedError (429 + Retry-After + RateLimit-*) when over the limit. */
export async function consume(limiter: RateLimiter, key: string, limit: number, windowSeconds: number, message?: string): Promise<RateLimitResult> {
  const r = await limiter.hit(key, limit, windowSeconds);
  if (!r.allowed) throw new RateLimitedError(r.limit, r.remaining, r.resetSeconds, message);
  return r;
}
