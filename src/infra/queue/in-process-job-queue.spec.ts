import { InProcessJobQueue } from './in-process-job-queue';

describe('InProcessJobQueue', () => {
  it('runs a job off the caller, at most one per key, and reports it pending until it ends', async () => {
    const queue = new InProcessJobQueue();
    const runs: number[] = [];
    let release!: () => void;
    queue.register<{ n: number }>('title', async ({ n }) => {
      runs.push(n);
      await new Promise<void>((resolve) => (release = resolve));
    });
    expect(await queue.enqueue('title', 'thread-1', { n: 1 })).toBe(true);
    expect(runs).toEqual([]); // not on the caller's turn
    expect(await queue.isPending('title', 'thread-1')).toBe(true);
    expect(await queue.enqueue('title', 'thread-1', { n: 2 })).toBe(false);
    expect(await queue.isPending('title', 'thread-2')).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await queue.counts()).toEqual({ waiting: 0, active: 1, failed: 0 });
    release();
    await queue.idle();
    expect(runs).toEqual([1]);
    expect(await queue.isPending('title', 'thread-1')).toBe(false);
    // Done: the key can be queued again.
    expect(await queue.enqueue('title', 'thread-1', { n: 3 })).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await queue.idle();
    expect(runs).toEqual([1, 3]);
  });

  it('queues nothing for a name without a handler', async () => {
    expect(await new InProcessJobQueue().enqueue('unknown', 'k', {})).toBe(false);
  });

  it('retries a failing job, then counts it as failed', async () => {
    const queue = new InProcessJobQueue();
    let calls = 0;
    queue.register('flaky', async () => {
      if (++calls < 2) throw new Error('transient');
    });
    let doomed = 0;
    queue.register('doomed', async () => {
      doomed++;
      throw new Error('always');
    });
    await queue.enqueue('flaky', 'k', {});
    await queue.enqueue('doomed', 'k', {});
    await queue.idle();
    expect(calls).toBe(2);
    expect(doomed).toBe(3);
    expect(await queue.counts()).toEqual({ waiting: 0, active: 0, failed: 1 });
  }, 15_000);

  it('queues nothing once stopped, and waits for running jobs on shutdown', async () => {
    const queue = new InProcessJobQueue();
    let finished = false;
    queue.register('title', async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      finished = true;
    });
    await queue.enqueue('title', 'k', {});
    await queue.onModuleDestroy();
    expect(finished).toBe(true);
    expect(await queue.enqueue('title', 'other', {})).toBe(false);
  });
});
