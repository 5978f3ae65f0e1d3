import { Global, Inject, Logger, Module, OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';

/** The shared Redis connection, or null when REDIS_URL is unset (single-process mode). */
export const REDIS = Symbol('REDIS');
export type RedisClient = Redis | null;

class RedisLifecycle implements OnModuleDestroy {
  constructor(@Inject(REDIS) private readonly redis: RedisClient) {}

  async onModuleDestroy(): Promise<void> {
    if (!this.redis) return;
    // QUIT waits for a connection; one that never came up is just dropped.
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis?.disconnect());
    else this.redis.disconnect();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: (config: AppConfig): RedisClient => {
        if (!config.REDIS_URL) return null;
        const logger = new Logger('Redis');
        const redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
        // Without a listener ioredis would print every reconnect failure; readiness reports it instead.
        redis.on('error', (error: Error) => logger.warn(`Redis error: ${error.message}`));
        return redis;
      },
    },
    RedisLifecycle,
  ],
  exports: [REDIS],
})
export class RedisModule {}
