import { Redis } from 'ioredis';
import { CacheFactory, SharedCache } from '../../src/infra/cache/cache';
import { RedisCacheFactory } from '../../src/infra/cache/redis-cache';
import { BullmqJobQueue } from '../../src/infra/queue/bullmq-job-queue';
import { JobQueue } from '../../src/infra/queue/job-queue';
import { REDIS_OPTIONS } from '../../src/infra/redis/redis.module';
import { createTestApp, registerUser, TEST_REDIS_URL, TestApp } from '../support/test-app';
import { createThrowawayDatabase, ThrowawayDatabase } from './throwaway-database';

/** This run's keys; removed at the end. */
const PREFIX = `parley-test-${process.pid}-${Date.now()}:`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A pod's Redis client as the application makes it (fail-fast options), once connected. */
async function podClient(): Promise<Redis> {
  const redis = new Redis(TEST_REDIS_URL, REDIS_OPTIONS);
  redis.on('error', () => undefined);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

interface Answer {
  text: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
}

describe('Shared cache (integration: real Redis)', () => {
  let clients: Redis[];
  let a: SharedCache<Answer>;
  let b: SharedCache<Answer>;

  beforeAll(async () => {
    clients = [await podClient(), await podClient()];
    [a, b] = clients.map((redis) => new RedisCacheFactory(redis, PREFIX).create<Answer>('llm', { maxEntries: 10 }));
  });
  afterAll(async () => {
    const [redis] = clients;
    const keys = (await redis.scan('0', 'MATCH', `${PREFIX}*`, 'COUNT', 10_000))[1];
    if (keys.length) await redis.del(...keys);
    await Promise.all(clients.map((c) => c.quit()));
  });

  it('lets one pod read what another wrote, under <prefix>cache:<namespace>:', async () => {
    const answer = { text: 'Server-Sent Events are…', finishReason: 'stop', promptTokens: 12, completionTokens: 40 };
    expect(await b.get('question-1')).toBeUndefined();
    await a.set('question-1', answer, 60_000);
    expect(await b.get('question-1')).toEqual(answer);
    expect(await clients[0].exists(`${PREFIX}cache:llm:question-1`)).toBe(1);
    const ttl = await clients[0].pttl(`${PREFIX}cache:llm:question-1`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('keeps namespaces apart', async () => {
    const other = new RedisCacheFactory(clients[1], PREFIX).create<Answer>('models:discovery', { maxEntries: 10 });
    await a.set('same-key', { text: 'llm', finishReason: 'stop', promptTokens: 1, completionTokens: 1 }, 60_000);
    expect(await other.get('same-key')).toBeUndefined();
  });

  it('forgets an entry for every pod once its TTL has passed', async () => {
    await a.set('short', { text: 'soon gone', finishReason: 'stop', promptTokens: 1, completionTokens: 1 }, 200);
    expect(await b.get('short')).toMatchObject({ text: 'soon gone' });
    await sleep(300);
    expect(await a.get('short')).toBeUndefined();
    expect(await b.get('short')).toBeUndefined();
  });

  it('overwrites: the latest write wins for every pod', async () => {
    await a.set('k', { text: 'first', finishReason: 'stop', promptTokens: 1, completionTokens: 1 }, 60_000);
    await b.set('k', { text: 'second', finishReason: 'length', promptTokens: 2, completionTokens: 2 }, 60_000);
    expect(await a.get('k')).toEqual({ text: 'second', finishReason: 'length', promptTokens: 2, completionTokens: 2 });
  });

  describe('in the application (two instances with REDIS_URL)', () => {
    let db: ThrowawayDatabase;
    const apps: TestApp[] = [];

    beforeAll(async () => {
      db = await createThrowawayDatabase('parley_shared_cache');
      const env = { DATABASE_URL: db.url, MIGRATE_ON_START: 'true', REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: PREFIX, LLM_CACHE_ENABLED: 'true' };
      apps.push(await createTestApp({ env }), await createTestApp({ env }));
    });
    afterAll(async () => {
      await Promise.all(apps.map((t) => t.close()));
      await db?.drop();
    });

    it('uses the Redis adapters', () => {
      for (const t of apps) {
        expect(t.app.get(CacheFactory)).toBeInstanceOf(RedisCacheFactory);
        expect(t.app.get(JobQueue)).toBeInstanceOf(BullmqJobQueue);
      }
    });

    it('answers /api/llm/complete on one instance from what the other cached', async () => {
      const [a, b] = apps;
      const me = await registerUser(a);
      const body = { prompt: `Shared cache ${Date.now()}` };
      const first = await a.http().post('/api/llm/complete').set(me.auth).send(body).expect(200);
      expect(first.body.data.cached).toBe(false);
      const second = await b.http().post('/api/llm/complete').set(me.auth).send(body).expect(200);
      expect(second.body.data).toEqual({ ...first.body.data, created: expect.any(Number), cached: true });
    });
  });
});
