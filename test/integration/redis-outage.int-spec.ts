import { performance } from 'node:perf_hooks';
import { ThrottlerStorage } from '@nestjs/throttler';
import { FailoverThrottlerStorage } from '../../src/common/throttling/failover-throttler.storage';
import { createTestApp, TEST_REDIS_URL, TestApp } from '../support/test-app';
import { createThrowawayDatabase, ThrowawayDatabase } from './throwaway-database';
import { RedisProxy } from './redis-proxy';
import { eventually } from '../support/eventually';

/** A fresh client address per run: Redis keeps counters for the whole window. */
const clientAddress = () => `10.${[0, 0, 0].map(() => Math.floor(Math.random() * 250)).join('.')}`;

const storageOf = (t: TestApp) => t.app.get(ThrottlerStorage, { strict: false }) as FailoverThrottlerStorage;

describe('Redis outage (integration: real PostgreSQL and Redis)', () => {
  let db: ThrowawayDatabase;
  const apps: TestApp[] = [];
  /** Log lines of every app of this file (nestjs-pino sends a later app's lines to the first app's destination). */
  const allLogs: Array<Array<Record<string, unknown>>> = [];
  const countLogs = (prefix: string) => allLogs.flat().filter((line) => String(line.msg).startsWith(prefix)).length;
  const app = async (env: Record<string, string>) => {
    const t = await createTestApp({ env: { DATABASE_URL: db.url, MIGRATE_ON_START: 'true', TRUST_PROXY: 'loopback', ...env } });
    apps.push(t);
    allLogs.push(t.logs);
    return t;
  };
  const attemptLogin = (t: TestApp, client: string) =>
    t.http().post('/api/login').set('x-forwarded-for', client).send({ username: 'nobody@example.com', password: 'wrong-password' });

  beforeAll(async () => {
    db = await createThrowawayDatabase('parley_redis_outage');
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((t) => t.close()));
  });
  afterAll(() => db?.drop());

  describe('with Redis unreachable (REDIS_URL on a closed port)', () => {
    let t: TestApp;
    beforeEach(async () => {
      t = await app({ REDIS_URL: 'redis://127.0.0.1:9', RATE_LIMITS: 'login=3,register=1000' });
    });

    it('answers rate-limited requests without waiting for Redis, and the limit holds per process', async () => {
      const warningsBefore = countLogs('Shared rate-limit storage failed');
      const client = clientAddress();
      const timings: number[] = [];
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const res = await attemptLogin(t, client);
        timings.push(performance.now() - started);
        statuses.push(res.status);
        expect(res.headers['x-ratelimit-limit']).toBe('3');
        expect(res.headers['x-ratelimit-remaining']).toBe(String(Math.max(0, 3 - (i + 1))));
        if (res.status === 429) {
          expect(res.body.error.code).toBe('RATE_LIMITED');
          expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
        }
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      // Sanity bound only: ioredis' offline queue and retries used to hold each request 3-6 s.
      expect(Math.max(...timings)).toBeLessThan(1500);
      // One warning for the whole outage, not one per request.
      expect(countLogs('Shared rate-limit storage failed') - warningsBefore).toBe(1);
      expect(storageOf(t).degraded).toBe(true);
    });

    it('stays live and ready, reporting Redis as degraded', async () => {
      await t.http().get('/api/health/live').expect(200);
      const ready = await t.http().get('/api/health/ready').expect(200);
      expect(ready.body.data).toMatchObject({
        status: 'degraded',
        checks: { database: { status: 'up' }, redis: { status: 'degraded' }, lifecycle: { status: 'up' } },
      });
      const detailed = await t.http().get('/api/health').expect(200);
      expect(detailed.body.data).toMatchObject({ status: 'degraded', services: { database: { status: 'healthy' }, redis: { status: 'unhealthy' } } });
    });
  });

  describe('with the real Redis', () => {
    it('shares the limit between two instances through Redis', async () => {
      const env = { REDIS_URL: TEST_REDIS_URL, RATE_LIMITS: 'login=2,register=1000' };
      const [a, b] = [await app(env), await app(env)];
      const client = clientAddress();
      expect((await attemptLogin(a, client)).status).toBe(401);
      expect((await attemptLogin(b, client)).status).toBe(401);
      const third = await attemptLogin(a, client);
      expect(third.status).toBe(429);
      expect(third.headers['retry-after']).toBeDefined();
      const ready = await a.http().get('/api/health/ready').expect(200);
      expect(ready.body.data).toMatchObject({ status: 'ok', checks: { redis: { status: 'up' } } });
    });

    it('falls back to per-process counters when Redis goes away and shares them again when it is back', async () => {
      const proxy = new RedisProxy(new URL(TEST_REDIS_URL));
      await proxy.open();
      try {
        const t = await app({ REDIS_URL: `redis://127.0.0.1:${proxy.port}`, RATE_LIMITS: 'login=2,register=1000' });

        await proxy.cut();
        const during = clientAddress();
        const statuses = [];
        for (let i = 0; i < 3; i++) statuses.push((await attemptLogin(t, during)).status);
        expect(statuses).toEqual([401, 401, 429]);
        expect((await t.http().get('/api/health/ready').expect(200)).body.data.checks.redis.status).toBe('degraded');
        expect(storageOf(t).degraded).toBe(true);

        await proxy.open();
        // Polled every 100 ms: each try is a request (a login attempt, below).
        await eventually('readiness sees Redis up', async () => (await t.http().get('/api/health/ready')).body.data?.checks.redis.status === 'up', 10_000, 100);
        // Back on Redis (after the storage's retry pause): a second instance sees the first one's counts.
        await eventually('rate limits back on Redis', async () => {
          await attemptLogin(t, clientAddress());
          return !storageOf(t).degraded;
        }, 10_000, 100);
        const other = await app({ REDIS_URL: TEST_REDIS_URL, RATE_LIMITS: 'login=2,register=1000' });
        const after = clientAddress();
        expect((await attemptLogin(t, after)).status).toBe(401);
        expect((await attemptLogin(other, after)).status).toBe(401);
        expect((await attemptLogin(t, after)).status).toBe(429);
      } finally {
        await proxy.cut();
      }
    });
  });
});
