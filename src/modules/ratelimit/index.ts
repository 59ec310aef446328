// The limiter for this deployment: shared through Redis when REDIS_URL is set, else in-process.
import type { Clock } from '../common/clock.js';
import type { RedisConnections } from '../common/redis.js';
import { MemoryRateLimiter } from './memory-limiter.js';
import type { RateLimiter } from './rate-limiter.js';
import { RedisRateLimiter } from './redis-limiter.js';

export { MemoryRateLimiter } from './memory-limiter.js';
export { consume, type RateLimiter, type RateLimitResult } from './rate-limiter.js';
export { RedisRateLimiter } from './redis-limiter.js';

export function createRateLimiter(redis: RedisConnections | undefined, clock: Clock): RateLimiter {
  return redis ? new RedisRateLimiter(redis.commands, redis.name('rl:')) : new MemoryRateLimiter(clock);
}
export { AuthThrottle } from './auth-throttle.js';
