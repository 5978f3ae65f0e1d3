import { LRUCache } from 'lru-cache';
import { CacheFactory, CacheOptions, SharedCache } from './cache';

/** An in-process cache: bounded in entries (least recently used go first) and by each entry's TTL. */
export class LruSharedCache<T> extends SharedCache<T> {
  // Boxed: lru-cache takes no undefined/null values, the port takes any JSON value.
  private readonly entries: LRUCache<string, { value: T }>;

  constructor(options: CacheOptions) {
    super();
    this.entries = new LRUCache({ max: options.maxEntries });
  }

  async get(key: string): Promise<T | undefined> {
    return this.entries.get(key)?.value;
  }

  async set(key: string, value: T, ttlMs: number): Promise<void> {
    this.entries.set(key, { value }, { ttl: Math.max(1, Math.round(ttlMs)) });
  }
}

/** Per-process caches (no REDIS_URL): each pod has its own. */
export class LruCacheFactory extends CacheFactory {
  create<T>(_namespace: string, options: CacheOptions): SharedCache<T> {
    return new LruSharedCache<T>(options);
  }
}
