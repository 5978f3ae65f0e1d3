import { Logger, OnApplicationShutdown } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** After a failure, Redis is tried again only after this pause (a hung Redis costs one command timeout per pause, not per request). */
const RETRY_PRIMARY_AFTER_MS = 1000;

/**
 * Rate-limit counters in the shared (Redis) storage, falling back to per-process in-memory
 * counters while it fails: a Redis outage loosens limits to per pod, it never switches them
 * off nor makes requests wait. Logs once when the outage starts and once when it ends.
 */
export class FailoverThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private failingSince: number | null = null;
  private retryPrimaryAt = 0;

  constructor(
    private readonly primary: ThrottlerStorage,
    private readonly fallback = new ThrottlerStorageService(),
    private readonly now: () => number = Date.now,
  ) {}

  /** True while counting per process because the shared storage failed. */
  get degraded(): boolean {
    return this.failingSince !== null;
  }

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string): Promise<ThrottlerStorageRecord> {
    if (this.now() >= this.retryPrimaryAt) {
      try {
        const record = await this.primary.increment(key, ttl, limit, blockDuration, throttlerName);
        if (this.failingSince !== null) {
          this.logger.log(`Shared rate-limit storage is back after ${Math.round((this.now() - this.failingSince) / 1000)} s; counters are shared again`);
          this.failingSince = null;
        }
        return record;
      } catch (error) {
        if (this.failingSince === null) {
          this.failingSince = this.now();
          this.logger.warn(`Shared rate-limit storage failed (${(error as Error).message}); counting per process until it answers again`);
        }
        this.retryPrimaryAt = this.now() + RETRY_PRIMARY_AFTER_MS;
      }
    }
    return this.fallback.increment(key, ttl, limit, blockDuration, throttlerName);
  }

  onApplicationShutdown(): void {
    this.fallback.onApplicationShutdown();
  }
}
