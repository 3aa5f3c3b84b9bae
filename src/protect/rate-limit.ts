import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Redis } from 'ioredis';
import type { LimitName, LimitOptions } from '../config/options.js';
import { RateLimitedError, ServiceUnavailableError } from '../errors.js';

/**
 * Fixed-window limits from rate-limiter-flexible. A key that spends its points is refused
 * until its window ends, and no longer: windows are at most minutes, so an attacker who
 * burns a victim's per-account budget locks them out for one window at most (RATE-01).
 *
 * With Redis the counters are shared by every instance. If Redis fails, each instance
 * falls back to its own in-memory counters (the "insurance" limiter): limits get looser
 * by the number of instances, but never disappear (ERR-02).
 */
export interface RateLimiter {
  /** Spends one point of `name` for `key`; throws RateLimitedError (429) when none are left. */
  consume(name: LimitName, key: string): Promise<void>;
  /** Throws RateLimitedError if `key` has no points left, without spending one. */
  check(name: LimitName, key: string): Promise<void>;
  /** Forgets `key` (e.g. after a successful sign-in clears failed attempts). */
  reset(name: LimitName, key: string): Promise<void>;
  /** Gives back one point `consume` took (an attempt reserved up front that did not count). */
  refund(name: LimitName, key: string): Promise<void>;
  /** Resolves when the shared store answers (Redis PING); 'memory' when there is none. Throws when Redis is unreachable. */
  ping(): Promise<'redis' | 'memory'>;
  close(): Promise<void>;
}

export interface RateLimiterSetup {
  limits: Record<LimitName, LimitOptions>;
  redis?: string | Redis;
  /** Called once per key and window, when the key is first refused. */
  onLimited?: (name: LimitName, key: string) => void;
  /** Called on every refusal (metrics). */
  onRefused?: (name: LimitName) => void;
}

function isRes(value: unknown): value is RateLimiterRes {
  return value instanceof RateLimiterRes;
}

/** Waits briefly for the first connection so the first requests already share counters. */
async function waitUntilReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}

export async function createRateLimiter(setup: RateLimiterSetup): Promise<RateLimiter> {
  let redis: Redis | undefined;
  let ownsRedis = false;
  if (typeof setup.redis === 'string') {
    const { Redis: RedisClient } = await import('ioredis');
    // No offline queue: while Redis is unreachable, commands fail at once and the
    // insurance limiter answers instead of requests hanging.
    redis = new RedisClient(setup.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 });
    redis.on('error', () => {});
    ownsRedis = true;
    await waitUntilReady(redis, 2000);
  } else {
    redis = setup.redis;
  }

  const limiters = new Map<LimitName, RateLimiterAbstract>();
  for (const [name, limit] of Object.entries(setup.limits) as [LimitName, LimitOptions][]) {
    const base = { points: limit.points, duration: limit.durationSeconds, keyPrefix: `gatehouse:rl:${name}` };
    const memory = new RateLimiterMemory(base);
    limiters.set(name, redis ? new RateLimiterRedis({ ...base, storeClient: redis, insuranceLimiter: memory }) : memory);
  }

  const get = (name: LimitName): RateLimiterAbstract => {
    const limiter = limiters.get(name);
    if (!limiter) throw new Error(`unknown rate limit ${name}`);
    return limiter;
  };

  return {
    async consume(name, key) {
      try {
        await get(name).consume(key);
      } catch (rejection) {
        if (!isRes(rejection)) throw new ServiceUnavailableError(undefined, { cause: rejection });
        if (rejection.consumedPoints === setup.limits[name].points + 1) setup.onLimited?.(name, key);
        setup.onRefused?.(name);
        throw new RateLimitedError(rejection.msBeforeNext / 1000);
      }
    },
    async check(name, key) {
      let res: RateLimiterRes | null;
      try {
        res = await get(name).get(key);
      } catch (error) {
        throw new ServiceUnavailableError(undefined, { cause: error });
      }
      if (res !== null && res.consumedPoints >= setup.limits[name].points) {
        setup.onRefused?.(name);
        throw new RateLimitedError(res.msBeforeNext / 1000);
      }
    },
    async reset(name, key) {
      await get(name).delete(key);
    },
    async refund(name, key) {
      const limiter = get(name);
      // Only a point still counted in the current window is given back: after the window moved
      // on, a reward would start the new one at -1 (one extra attempt in it).
      const res = await limiter.get(key);
      if (res === null || res.consumedPoints <= 0) return;
      await limiter.reward(key, 1);
    },
    async ping() {
      if (redis === undefined) return 'memory';
      await redis.ping();
      return 'redis';
    },
    async close() {
      if (ownsRedis && redis) redis.disconnect();
    },
  };
}
