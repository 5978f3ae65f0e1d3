/**
 * Port: a cache of plain JSON data (objects, arrays, strings, numbers, booleans, null:
 * no Dates, Maps or class instances, which a shared cache would not give back as such),
 * each entry with its own time to live. Never fails: an unavailable store is a miss and a
 * skipped write.
 */
export abstract class SharedCache<T> {
  abstract get(key: string): Promise<T | undefined>;
  abstract set(key: string, value: T, ttlMs: number): Promise<void>;
}

export interface CacheOptions {
  /** Entries the per-process cache keeps at most (least recently used go first); Redis entries are bounded by their TTL only. */
  maxEntries: number;
}

/**
 * Makes the caches of the application, each under its own name: per process (LRU) by
 * default, shared by every pod in Redis when REDIS_URL is set (see CacheModule).
 */
export abstract class CacheFactory {
  abstract create<T>(namespace: string, options: CacheOptions): SharedCache<T>;
}
