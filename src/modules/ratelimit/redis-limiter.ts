// Limits shared by every replica: one Lua script does increment + expiry + read-back atomically,
// in one round trip, so concurrent requests on any replica are counted exactly.
import type { Redis } from 'ioredis';
import { DomainError } from '../common/errors.js';
import type { RateLimiter, RateLimitResult } from './rate-limiter.js';

// KEYS[1] counter; ARGV[1] window in ms. Returns {count, ms until reset}.
const SCRIPT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

type WithHit = Redis & { latchkeyHit(key: string, windowMs: number): Promise<[number, number]> };

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: WithHit;

  constructor(
    redis: Redis,
    /** REDIS_KEY_PREFIX + "rl:" (RedisConnections.name). */
    private readonly prefix: string,
    private readonly ownsConnection = false,
  ) {
    // defineCommand sends EVALSHA, falling back to EVAL once per connection: one round trip per hit.
    redis.defineCommand('latchkeyHit', { numberOfKeys: 1, lua: SCRIPT });
    this.redis = redis as WithHit;
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitResult> {
    let count: number, ttlMs: number;
    try {
      [count, ttlMs] = await this.redis.latchkeyHit(this.prefix + key, windowSeconds * 1000);
    } catch {
      // Fail closed, at once (no offline queue, bounded command timeout): without the shared counter a limit cannot be enforced.
      throw new DomainError('UNAVAILABLE', 'Rate limiter unavailable (Redis), retry shortly');
    }
    return { allowed: count <= limit, limit, remaining: Math.max(0, limit - count), resetSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }
}
