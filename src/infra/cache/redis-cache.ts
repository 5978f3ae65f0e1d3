import { Logger } from '@nestjs/common';
import { CacheFactory, CacheOptions, SharedCache } from './cache';
import { LruSharedCache } from './lru-cache';

/** The commands the Redis cache uses (an ioredis client; a fake one in tests). */
export interface CacheRedisClient {
  readonly status: string;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ttlMs: number): Promise<unknown>;
}

/** Whether the shared store is failing: logs once when an outage starts and once when it ends. */
export class CacheOutage {
  private since: number | null = null;

  constructor(private readonly logger = new Logger('Cache')) {}

  get down(): boolean {
    return this.since !== null;
  }

  failed(error: Error): void {
    if (this.since !== null) return;
    this.since = Date.now();
    this.logger.warn(`Shared cache unavailable (${error.message}); caching per process until Redis answers again`);
  }

  answered(): void {
    if (this.since === null) return;
    this.logger.log(`Shared cache is back after ${Math.round((Date.now() - this.since) / 1000)} s`);
    this.since = null;
  }
}

/**
 * Entries in Redis, shared by every pod: JSON under `<prefix><key>` with a PX expiry. Uses
 * the application's fail-fast client (no offline queue, bounded command time), so an
 * absent Redis costs a request nothing: while it fails, reads and writes go to a
 * per-process LRU instead (a miss at first), as without Redis.
 */
export class RedisSharedCache<T> extends SharedCache<T> {
  constructor(
    private readonly redis: CacheRedisClient,
    private readonly prefix: string,
    private readonly fallback: SharedCache<T>,
    private readonly outage = new CacheOutage(),
  ) {
    super();
  }

  async get(key: string): Promise<T | undefined> {
    let raw: string | null;
    try {
      this.assertConnected();
      raw = await this.redis.get(this.prefix + key);
    } catch (error) {
      this.outage.failed(error as Error);
      return this.fallback.get(key);
    }
    this.outage.answered();
    if (raw === null) return undefined;
    try {
      return JSON.parse(raw) as T;
    } catch {
      return undefined; // not written by this code: a miss, overwritten by the next set
    }
  }

  async set(key: string, value: T, ttlMs: number): Promise<void> {
    const json = JSON.stringify(value);
    try {
      this.assertConnected();
      await this.redis.set(this.prefix + key, json, 'PX', Math.max(1, Math.round(ttlMs)));
    } catch (error) {
      this.outage.failed(error as Error);
      await this.fallback.set(key, value, ttlMs);
      return;
    }
    this.outage.answered();
  }

  /** A command while disconnected would fail at once anyway; this says why without trying. */
  private assertConnected(): void {
    if (this.redis.status !== 'ready') throw new Error(`Redis connection ${this.redis.status}`);
  }
}

/** Caches in Redis under `<REDIS_KEY_PREFIX>cache:<namespace>:` (REDIS_URL set). */
export class RedisCacheFactory extends CacheFactory {
  private readonly outage = new CacheOutage();

  constructor(
    private readonly redis: CacheRedisClient,
    private readonly keyPrefix: string,
  ) {
    super();
  }

  create<T>(namespace: string, options: CacheOptions): SharedCache<T> {
    return new RedisSharedCache<T>(this.redis, `${this.keyPrefix}cache:${namespace}:`, new LruSharedCache<T>(options), this.outage);
  }
}
