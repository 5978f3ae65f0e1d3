import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../src/config/app.config';
import { BullmqJobQueue, BullmqJobQueueOptions } from '../../src/infra/queue/bullmq-job-queue';
import { TEST_REDIS_URL } from '../support/test-app';
import { RedisProxy } from './redis-proxy';
import { eventually } from '../support/eventually';

/** Every key of this run starts with this; each test gets its own deployment prefix under it. */
const RUN = `parley-test-${process.pid}-${Date.now()}`;
let deployments = 0;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BullMQ job queue (integration: real Redis)', () => {
  const pods: BullmqJobQueue[] = [];
  let prefix: string;

  /** One pod's queue of the current test's deployment (same REDIS_KEY_PREFIX = same queue). */
  const pod = async (redisUrl = TEST_REDIS_URL, options: BullmqJobQueueOptions = {}) => {
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: 'x'.repeat(40),
      ENCRYPTION_KEY: 'a'.repeat(64),
      EMBEDDED_DB_PATH: 'memory://',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      SHUTDOWN_GRACE_MS: '3000',
    });
    const queue = new BullmqJobQueue(config, options);
    pods.push(queue);
    await queue.onModuleInit();
    return queue;
  };
  const stop = async (queue: BullmqJobQueue) => {
    pods.splice(pods.indexOf(queue), 1);
    await queue.onModuleDestroy();
  };

  beforeEach(() => {
    prefix = `${RUN}-${++deployments}:`;
  });
  afterEach(async () => {
    await Promise.all(pods.splice(0).map((q) => q.onModuleDestroy()));
  });
  afterAll(async () => {
    const redis = new Redis(TEST_REDIS_URL);
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${RUN}-*`, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
      if (keys.length) await redis.del(...keys);
      // Nothing of this run is left behind.
      expect((await redis.scan('0', 'MATCH', `${RUN}-*`, 'COUNT', 10_000))[1]).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('runs a job enqueued on two pods at once exactly once, and a later job of the same key again', async () => {
    const runs: string[] = [];
    const [a, b] = [await pod(), await pod()];
    for (const [name, q] of [['a', a], ['b', b]] as const) {
      q.register<{ n: number }>('title', async (payload) => {
        runs.push(`${name}:${payload.n}`);
        await sleep(200);
      });
      q.start();
    }
    const queued = await Promise.all([a.enqueue('title', 'thread-1', { n: 1 }), b.enqueue('title', 'thread-1', { n: 2 }), a.enqueue('title', 'thread-1', { n: 3 })]);
    expect(queued.filter(Boolean)).toHaveLength(1);
    // Another key is another job.
    expect(await b.enqueue('title', 'thread-2', { n: 4 })).toBe(true);
    await a.idle();
    expect(runs).toHaveLength(2);
    expect(runs.map((r) => r.split(':')[1]).sort()).toEqual([String(queued.indexOf(true) + 1), '4'].sort());

    // Once it completed, the same key can be queued again (the completed job does not block it).
    expect(await b.enqueue('title', 'thread-1', { n: 5 })).toBe(true);
    await b.idle();
    expect(runs).toHaveLength(3);
    expect(runs[2]).toMatch(/:5$/);
  });

  it('retries a failing job with backoff until it succeeds; a job failing every attempt is counted and frees its key', async () => {
    const q = await pod();
    let calls = 0;
    q.register('flaky', async () => {
      if (++calls < 3) throw new Error(`transient ${calls}`);
    });
    let doomedCalls = 0;
    q.register('doomed', async () => {
      doomedCalls++;
      throw new Error('always');
    });
    q.start();
    expect(await q.enqueue('flaky', 'k', {})).toBe(true);
    // Between attempts (the backoff) the job is still pending: no second job of the key.
    await eventually('first attempt failed', () => calls >= 1);
    expect(await q.isPending('flaky', 'k')).toBe(true);
    expect(await q.enqueue('flaky', 'k', {})).toBe(false);
    await q.idle();
    expect(calls).toBe(3);

    expect(await q.enqueue('doomed', 'k', {})).toBe(true);
    await q.idle();
    expect(doomedCalls).toBe(3);
    expect(await q.isPending('doomed', 'k')).toBe(false);
    expect(await q.counts()).toEqual({ waiting: 0, active: 0, failed: 1 });
    // The kept failed job does not block a new job of the key.
    expect(await q.enqueue('doomed', 'k', {})).toBe(true);
    await q.idle();
    expect(doomedCalls).toBe(6);
  });

  it('keeps a job queued while no worker runs, and a worker started later (another pod) runs it', async () => {
    const producer = await pod(); // never started: a pod that queued the job and went away
    expect(await producer.enqueue('summarize', 'thread-9:ollama:llama3', { threadId: 'thread-9', modelId: 'ollama:llama3' })).toBe(true);
    await sleep(200);
    expect(await producer.isPending('summarize', 'thread-9:ollama:llama3')).toBe(true);
    expect(await producer.counts()).toEqual({ waiting: 1, active: 0, failed: 0 });
    await stop(producer);

    const received: unknown[] = [];
    const worker = await pod();
    worker.register('summarize', async (payload) => void received.push(payload));
    worker.start();
    await worker.idle();
    expect(received).toEqual([{ threadId: 'thread-9', modelId: 'ollama:llama3' }]);
    expect(await worker.isPending('summarize', 'thread-9:ollama:llama3')).toBe(false);
  });

  it('reports a job pending while it waits and runs, not after; idle() waits for it', async () => {
    const q = await pod();
    let release!: () => void;
    const started: string[] = [];
    q.register('summarize', async () => {
      started.push('run');
      await new Promise<void>((resolve) => (release = resolve));
    });
    expect(await q.isPending('summarize', 't:m')).toBe(false);
    expect(await q.enqueue('summarize', 't:m', {})).toBe(true);
    expect(await q.isPending('summarize', 't:m')).toBe(true); // waiting: no worker yet
    q.start();
    await eventually('job started', () => started.length === 1);
    expect(await q.isPending('summarize', 't:m')).toBe(true); // active
    expect(await q.counts()).toMatchObject({ waiting: 0, active: 1 });
    let idle = false;
    const idling = q.idle().then(() => (idle = true));
    await sleep(150);
    expect(idle).toBe(false);
    release();
    await idling;
    expect(await q.isPending('summarize', 't:m')).toBe(false);
    expect(await q.counts()).toEqual({ waiting: 0, active: 0, failed: 0 });
  });

  it('waits for a running job on shutdown', async () => {
    const q = await pod();
    let finished = false;
    q.register('title', async () => {
      await sleep(300);
      finished = true;
    });
    q.start();
    await q.enqueue('title', 'slow', {});
    await eventually('job started', async () => (await q.counts()).active === 1);
    await stop(q);
    expect(finished).toBe(true);
    // A stopped queue queues nothing more.
    expect(await q.enqueue('title', 'later', {})).toBe(false);
  });

  it('fails fast, without crashing, while Redis is unreachable', async () => {
    const q = await pod('redis://127.0.0.1:9');
    q.register('title', async () => undefined);
    q.start();
    for (const call of [() => q.enqueue('title', 'x', {}), () => q.isPending('title', 'x'), () => q.counts()]) {
      const started = performance.now();
      await expect(call()).rejects.toThrow(/Redis is not reachable/);
      expect(performance.now() - started).toBeLessThan(100);
    }
    const closing = performance.now();
    await stop(q);
    expect(performance.now() - closing).toBeLessThan(2000);
  });

  it('hands the job of a pod that died mid-job to another pod once its lock expires (stalled job)', async () => {
    const lockMs = 1000;
    const dying = await pod(TEST_REDIS_URL, { lockMs });
    let unblock!: () => void;
    let startedOnDying = false;
    dying.register('title', async () => {
      startedOnDying = true;
      await new Promise<void>((resolve) => (unblock = resolve));
    });
    dying.start();
    expect(await dying.enqueue('title', 'stuck', { n: 1 })).toBe(true);
    await eventually('job started on the first pod', () => startedOnDying);
    // The pod goes away without finishing the job (shutdown grace passes, its connections are dropped).
    await stop(dying);

    const ran: unknown[] = [];
    const survivor = await pod(TEST_REDIS_URL, { lockMs });
    survivor.register('title', async (payload) => void ran.push(payload));
    survivor.start();
    await eventually('job taken over by the second pod', () => ran.length === 1, 15_000);
    expect(ran).toEqual([{ n: 1 }]);
    await survivor.idle();
    expect(await survivor.isPending('title', 'stuck')).toBe(false);
    unblock();
  });

  it('rejects at once while Redis is away, queues again when it is back, and shuts down quickly during an outage', async () => {
    const proxy = new RedisProxy(new URL(TEST_REDIS_URL));
    await proxy.open();
    try {
      const q = await pod(proxy.url);
      const ran: string[] = [];
      q.register<{ id: string }>('title', async (payload) => void ran.push(payload.id));
      q.start();
      expect(await q.enqueue('title', 'before', { id: 'before' })).toBe(true);
      await eventually('job before the outage ran', () => ran.includes('before'));

      await proxy.cut();
      await eventually('connection seen as down', async () => {
        try {
          await q.isPending('title', 'x');
          return false;
        } catch {
          return true;
        }
      });
      const started = performance.now();
      await expect(q.enqueue('title', 'during', { id: 'during' })).rejects.toThrow(/Redis is not reachable/);
      expect(performance.now() - started).toBeLessThan(100);

      await proxy.open();
      await eventually('queueing works again', async () => q.enqueue('title', 'after', { id: 'after' }).catch(() => false), 15_000);
      await eventually('job after the outage ran (the worker reconnected)', () => ran.includes('after'), 15_000);

      await proxy.cut();
      const closing = performance.now();
      await stop(q);
      expect(performance.now() - closing).toBeLessThan(3000);
    } finally {
      await proxy.cut();
    }
  });
});
