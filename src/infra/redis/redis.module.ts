import { Global, Inject, Logger, Module, OnModuleDestroy } from '@nestjs/common';
import { Redis, RedisOptions } from 'ioredis';
import { AppConfig } from '../../config/app.config';

/** The shared Redis connection, or null when REDIS_URL is unset (single-process mode). */
export const REDIS = Symbol('REDIS');
export type RedisClient = Redis | null;

/**
 * Requests never wait for an absent Redis: no offline queue (a command while disconnected
 * fails at once), no retries of a command, bounded connect and command times. The
 * connection itself keeps reconnecting in the background, so Redis comes back by itself.
 * Callers fall back to per-process behaviour when a command fails.
 */
export const REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  connectTimeout: 2000,
  commandTimeout: 1000,
  // Dropping a connection that never came up must not hold shutdown for ioredis' default 2 s.
  disconnectTimeout: 200,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
};

/** How long boot waits for the first connection (so the first requests find it ready); never fails. */
const BOOT_WAIT_MS = 2000;

class RedisLifecycle implements OnModuleDestroy {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onModuleDestroy(): Promise<void> {
    if (!this.redis) return;
    // QUIT waits for a connection; one that never came up is just dropped.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis?.disconnect());
    else this.redis.disconnect();
  }
}

/** Logs the start and the end of an outage once each, not every reconnect attempt. */
function logOutages(redis: Redis, logger: Logger): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    logger.warn(`Redis unreachable (${error.message}); reconnecting in the background, per-process fallbacks meanwhile`);
  });
  redis.on('ready', () => {
    if (down) logger.log('Redis reachable again');
    down = false;
  });
}

/** Resolves once the first connection is ready, fails, or BOOT_WAIT_MS passes. */
function firstConnection(redis: Redis): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done).off('error', done);
      resolve();
    };
    const timer = setTimeout(done, BOOT_WAIT_MS);
    redis.once('ready', done).once('error', done);
  });
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: async (config: AppConfig): Promise<RedisClient> => {
        if (!config.REDIS_URL) return null;
        const redis = new Redis(config.REDIS_URL, { ...REDIS_OPTIONS, lazyConnect: false });
        // With a listener ioredis does not print every reconnect failure; readiness reports it too.
        logOutages(redis, new Logger('Redis'));
        await firstConnection(redis);
        return redis;
      },
    },
    RedisLifecycle,
  ],
  exports: [REDIS],
})
export class RedisModule {}
