import { Logger } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { FailoverThrottlerStorage } from './failover-throttler.storage';

const record = { totalHits: 1, timeToExpire: 60, isBlocked: false, timeToBlockExpire: 0 };

describe('FailoverThrottlerStorage', () => {
  let now: number;
  let primaryUp: boolean;
  let primary: { increment: jest.Mock };
  let storage: FailoverThrottlerStorage;
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;
  const hit = () => storage.increment('ip:1', 60_000, 2, 60_000, 'default');

  beforeEach(() => {
    now = 1_000_000;
    primaryUp = true;
    primary = {
      increment: jest.fn(async () => {
        if (!primaryUp) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
        return record;
      }),
    };
    storage = new FailoverThrottlerStorage(primary as ThrottlerStorage, undefined, () => now);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    storage.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  it('uses the shared storage while it answers', async () => {
    await expect(hit()).resolves.toBe(record);
    expect(storage.degraded).toBe(false);
  });

  it('counts in memory while the shared storage fails, so the limit still holds, and warns once', async () => {
    primaryUp = false;
    const results = [await hit(), await hit(), await hit()];
    expect(results.map((r) => r.isBlocked)).toEqual([false, false, true]);
    expect(storage.degraded).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/counting per process/);
  });

  it('tries the shared storage again only after a pause, then goes back to it and says so once', async () => {
    primaryUp = false;
    await hit();
    await hit();
    expect(primary.increment).toHaveBeenCalledTimes(1);
    primaryUp = true;
    now += 1000;
    await expect(hit()).resolves.toBe(record);
    await hit();
    expect(storage.degraded).toBe(false);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0][0]).toMatch(/shared again/);
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
