import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ExecutionContext, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../../config/app.config';
import { REDIS, type RedisClient } from '../../infra/redis/redis.module';
import { FailoverThrottlerStorage } from './failover-throttler.storage';
import { DEFAULT_RATE_LIMITS, RATE_LIMIT, RATE_LIMIT_WINDOW_MS, RateLimitName } from './rate-limits';

function routeLimitName(context: ExecutionContext): RateLimitName {
  return (
    Reflect.getMetadata(RATE_LIMIT, context.getHandler()) ?? Reflect.getMetadata(RATE_LIMIT, context.getClass()) ?? 'default'
  );
}

/**
 * In-memory counters for one process; Redis counters shared by all pods when REDIS_URL is
 * set, with per-process counters while Redis fails.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: RedisClient) => {
        const limits: Record<string, number> = { ...DEFAULT_RATE_LIMITS, ...config.rateLimitOverrides };
        return {
          throttlers: [{ name: 'default', ttl: RATE_LIMIT_WINDOW_MS, limit: (ctx: ExecutionContext) => limits[routeLimitName(ctx)] ?? limits.default }],
          ...(redis ? { storage: new FailoverThrottlerStorage(new ThrottlerStorageRedisService(redis)) } : {}),
        };
      },
    }),
  ],
  exports: [ThrottlerModule],
})
export class ThrottlingModule {}
