import { Logger } from '@nestjs/common';
import { CacheOutage, CacheRedisClient, RedisCacheFactory } from './redis-cache';

/** A fake ioredis client: a Map, or failures on demand. */
class FakeRedis implements CacheRedisClient {
  status = 'ready';
  failing: Error | null = null;
  readonly data = new Map<string, { value: string; px: number }>();
  calls = 0;

  async get(key: string): Promise<string | null> {
    this.calls++;
    if (this.failing) throw this.failing;
    return this.data.get(key)?.value ?? null;
  }

  async set(key: string, value: string, px: 'PX', ttlMs: number): Promise<unknown> {
    this.calls++;
    if (this.failing) throw this.failing;
    expect(px).toBe('PX');
    this.data.set(key, { value, px: ttlMs });
    return 'OK';
  }
}

describe('RedisSharedCache', () => {
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  const setup = () => {
    const redis = new FakeRedis();
    const factory = new RedisCacheFactory(redis, 'parley:');
    return { redis, cache: factory.create<{ text: string; tokens: number }>('llm', { maxEntries: 10 }), factory };
  };

  it('stores JSON under <prefix>cache:<namespace>:<key> with a PX expiry, and reads it back', async () => {
    const { redis, cache } = setup();
    await cache.set('abc', { text: 'hi', tokens: 3 }, 600_000);
    expect(redis.data.get('parley:cache:llm:abc')).toEqual({ value: JSON.stringify({ text: 'hi', tokens: 3 }), px: 600_000 });
    expect(await cache.get('abc')).toEqual({ text: 'hi', tokens: 3 });
    expect(await cache.get('other')).toBeUndefined();
  });

  it('treats a value it cannot parse as a miss', async () => {
    const { redis, cache } = setup();
    redis.data.set('parley:cache:llm:bad', { value: '{not json', px: 1 });
    expect(await cache.get('bad')).toBeUndefined();
  });

  it('treats a failing Redis as a miss and a skipped write, never failing the caller, and logs the outage once', async () => {
    const { redis, cache, factory } = setup();
    await cache.set('before', { text: 'shared', tokens: 1 }, 60_000);
    redis.failing = new Error('Command timed out');
    const other = factory.create<number>('models:discovery', { maxEntries: 10 });

    await expect(cache.get('before')).resolves.toBeUndefined(); // a miss, not an error
    await expect(cache.set('during', { text: 'local', tokens: 2 }, 60_000)).resolves.toBeUndefined();
    await expect(other.get('ollama')).resolves.toBeUndefined();
    await expect(other.set('ollama', 1, 60_000)).resolves.toBeUndefined();
    expect(redis.data.has('parley:cache:llm:during')).toBe(false);
    // Meanwhile this pod caches for itself, as it does without Redis.
    expect(await cache.get('during')).toEqual({ text: 'local', tokens: 2 });
    expect(await other.get('ollama')).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1); // one warning for the outage, whichever cache met it
    expect(warn.mock.calls[0][0]).toMatch(/Shared cache unavailable \(Command timed out\)/);

    redis.failing = null;
    expect(await cache.get('before')).toEqual({ text: 'shared', tokens: 1 });
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toMatch(/Shared cache is back/);
  });

  it('sends no command while the connection is not ready', async () => {
    const { redis, cache } = setup();
    redis.status = 'reconnecting';
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', { text: 'x', tokens: 0 }, 1000);
    expect(redis.calls).toBe(0);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/Redis connection reconnecting/);
  });

  it('logs each outage once', () => {
    const outage = new CacheOutage();
    outage.failed(new Error('one'));
    outage.failed(new Error('two'));
    expect(outage.down).toBe(true);
    outage.answered();
    outage.answered();
    outage.failed(new Error('three'));
    expect(warn).toHaveBeenCalledTimes(2);
    expect(log).toHaveBeenCalledTimes(1);
  });
});
