import { LruCacheFactory, LruSharedCache } from './lru-cache';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LruSharedCache', () => {
  it('gives back what was set, and misses a key never set', async () => {
    const cache = new LruSharedCache<{ text: string; n: number }>({ maxEntries: 10 });
    await cache.set('a', { text: 'hello', n: 1 }, 10_000);
    expect(await cache.get('a')).toEqual({ text: 'hello', n: 1 });
    expect(await cache.get('b')).toBeUndefined();
  });

  it('keeps any JSON value, null, false and 0 included', async () => {
    const cache = new LruSharedCache<unknown>({ maxEntries: 10 });
    for (const [key, value] of [['null', null], ['false', false], ['zero', 0], ['empty', '']] as const) {
      await cache.set(key, value, 10_000);
      expect(await cache.get(key)).toBe(value);
    }
  });

  it('forgets an entry after its TTL', async () => {
    const cache = new LruSharedCache<string>({ maxEntries: 10 });
    await cache.set('short', 'x', 30);
    await cache.set('long', 'y', 10_000);
    await sleep(60);
    expect(await cache.get('short')).toBeUndefined();
    expect(await cache.get('long')).toBe('y');
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const cache = new LruSharedCache<number>({ maxEntries: 2 });
    await cache.set('a', 1, 10_000);
    await cache.set('b', 2, 10_000);
    await cache.get('a'); // a is now more recent than b
    await cache.set('c', 3, 10_000);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe(1);
    expect(await cache.get('c')).toBe(3);
  });

  it('makes independent caches per namespace', async () => {
    const factory = new LruCacheFactory();
    const one = factory.create<number>('one', { maxEntries: 10 });
    const two = factory.create<number>('two', { maxEntries: 10 });
    await one.set('k', 1, 10_000);
    expect(await two.get('k')).toBeUndefined();
  });
});
