import { Logger } from '@nestjs/common';
import { delayAfter, FailoverLoginFailureStore, LoginDelayPolicy, LoginFailureStore, LoginThrottle, MemoryLoginFailureStore, remainingDelay } from './login-delay';

const policy: LoginDelayPolicy = { freeFailures: 3, baseMs: 1000, maxMs: 300_000, forgetMs: 3_600_000 };

describe('login delay policy', () => {
  it('lets the free failures through, then doubles from the base delay up to the cap', () => {
    expect([0, 1, 2, 3].map((n) => delayAfter(n, policy))).toEqual([0, 0, 0, 0]);
    expect([4, 5, 6, 7, 8].map((n) => delayAfter(n, policy))).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(delayAfter(12, policy)).toBe(256_000);
    expect(delayAfter(13, policy)).toBe(300_000);
    expect(delayAfter(10_000, policy)).toBe(300_000);
  });

  it('starts at the first failure without free failures, and is off with a zero base', () => {
    expect(delayAfter(1, { ...policy, freeFailures: 0 })).toBe(1000);
    expect(delayAfter(50, { ...policy, baseMs: 0 })).toBe(0);
  });

  it('counts the wait from the last failure', () => {
    const record = { failures: 5, lastFailureAt: 10_000 };
    expect(remainingDelay(record, 10_000, policy)).toBe(2000);
    expect(remainingDelay(record, 11_500, policy)).toBe(500);
    expect(remainingDelay(record, 12_000, policy)).toBe(0);
    expect(remainingDelay(null, 12_000, policy)).toBe(0);
  });
});

describe('LoginThrottle', () => {
  let now: number;
  let throttle: LoginThrottle;
  beforeEach(() => {
    now = 1_000_000;
    throttle = new LoginThrottle(new MemoryLoginFailureStore(), policy, () => now);
  });

  it('delays one (IP, username) after its failures, never the same username from another IP', async () => {
    for (let i = 0; i < 4; i++) await throttle.recordFailure('10.0.0.66', 'alice@example.com');
    expect(await throttle.retryAfterSeconds('10.0.0.66', 'alice@example.com')).toBe(1);
    expect(await throttle.retryAfterSeconds('10.0.0.7', 'alice@example.com')).toBe(0);
    expect(await throttle.retryAfterSeconds('10.0.0.66', 'bob@example.com')).toBe(0);
    now += 1000;
    expect(await throttle.retryAfterSeconds('10.0.0.66', 'alice@example.com')).toBe(0);
  });

  it('reports the next delay with each failure, and forgets them after a success', async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await throttle.recordFailure('10.0.0.1', 'carol@example.com'));
    expect(results.map((r) => r.nextDelaySeconds)).toEqual([0, 0, 0, 1, 2, 4]);
    expect(results.at(-1)!.failures).toBe(6);
    await throttle.clear('10.0.0.1', 'carol@example.com');
    expect(await throttle.retryAfterSeconds('10.0.0.1', 'carol@example.com')).toBe(0);
    expect((await throttle.recordFailure('10.0.0.1', 'carol@example.com')).failures).toBe(1);
  });

  it('treats unknown and existing usernames alike: the state is keyed by a hash of (IP, username) only', () => {
    const key = LoginThrottle.keyOf('10.0.0.1', 'alice@example.com');
    expect(key).toMatch(/^parley:login-failures:[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('alice');
    expect(LoginThrottle.keyOf('10.0.0.2', 'alice@example.com')).not.toBe(key);
  });
});

describe('MemoryLoginFailureStore', () => {
  it('forgets a record after its time to live', async () => {
    let now = 5000;
    const store = new MemoryLoginFailureStore(10, () => now);
    await store.recordFailure('k', now, 1000);
    expect(await store.get('k')).toMatchObject({ failures: 1 });
    now += 1001;
    expect(await store.get('k')).toBeNull();
  });
});

describe('FailoverLoginFailureStore', () => {
  let now: number;
  let up: boolean;
  let primary: LoginFailureStore;
  let store: FailoverLoginFailureStore;

  beforeEach(() => {
    now = 0;
    up = true;
    const shared = new MemoryLoginFailureStore();
    const guard = <T>(fn: () => Promise<T>) => (up ? fn() : Promise.reject(new Error('Redis down')));
    primary = {
      get: jest.fn((k) => guard(() => shared.get(k))),
      recordFailure: jest.fn((k, n, ttl) => guard(() => shared.recordFailure(k, n, ttl))),
      clear: jest.fn((k) => guard(() => shared.clear(k))),
    };
    store = new FailoverLoginFailureStore(primary, new MemoryLoginFailureStore(), () => now);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('counts per process while the shared store fails, and goes back to it after a pause', async () => {
    await store.recordFailure('k', 1, 60_000);
    up = false;
    expect(await store.recordFailure('k', 2, 60_000)).toMatchObject({ failures: 1 });
    expect(await store.recordFailure('k', 3, 60_000)).toMatchObject({ failures: 2 });
    expect(primary.recordFailure).toHaveBeenCalledTimes(2);
    up = true;
    now += 1000;
    expect(await store.recordFailure('k', 4, 60_000)).toMatchObject({ failures: 2 });
  });
});
