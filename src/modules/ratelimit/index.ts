// The limiter for this deployment: shared through Redis when REDIS_URL is set, else in-process.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../common/clock.js';
import { MemoryRateLimiter } from './memory-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-limiter.js';

export { consume, type RateLimiter, type RateLimitResult } from './rate-limiter.js';
export { MemoryRateLimiter } from './memory-limiter.js';
export { RedisRateLimiter } from './redis-limiter.js';

export function createRateLimiter(redisUrl: string | undefined, clock: Clock, log: Logger, prefix?: string): RateLimiter {
  if (!redisUrl) return new MemoryRateLimiter(clock);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  redis.on('error', (err) => log.warn({ err: err.message }, 'redis error (rate limits)'));
  return new RedisRateLimiter(redis, prefix, true);
}
export { AuthThrottle, type AuthAction, type ThrottleLimits } from './auth-throttle.js';
