import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { ExecutionContext, Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig } from '../../config/app.config';
import { REDIS, type RedisClient } from '../../infra/redis/redis.module';
import { ConcurrencyLimiter } from './concurrency-limiter';
import { FailoverThrottlerStorage } from './failover-throttler.storage';
import { FailoverLoginFailureStore, LoginThrottle, MemoryLoginFailureStore, RedisLoginFailureStore } from './login-delay';
import { DEFAULT_RATE_LIMITS, RATE_LIMIT, RATE_LIMIT_WINDOW_MS, RateLimitName } from './rate-limits';

function routeLimitName(context: ExecutionContext): RateLimitName {
  return (
    Reflect.getMetadata(RATE_LIMIT, context.getHandler()) ?? Reflect.getMetadata(RATE_LIMIT, context.getClass()) ?? 'default'
  );
}

/**
 * In-memory counters for one process; Redis counters shared by all pods when REDIS_URL is
 * set, with per-process counters while Redis fails. The same goes for the sign-in delays
 * (LoginThrottle); concurrency caps (ConcurrencyLimiter) are always per process. Global, so
 * every controller can take the caps.
 */
@Global()
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
  providers: [
    ConcurrencyLimiter,
    {
      provide: LoginThrottle,
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: RedisClient) =>
        new LoginThrottle(redis ? new FailoverLoginFailureStore(new RedisLoginFailureStore(redis)) : new MemoryLoginFailureStore(), {
          freeFailures: config.LOGIN_DELAY_FREE_FAILURES,
          baseMs: config.LOGIN_DELAY_BASE_MS,
          maxMs: config.LOGIN_DELAY_MAX_MS,
          forgetMs: config.LOGIN_FAILURES_FORGET_MINUTES * 60_000,
        }),
    },
  ],
  exports: [ThrottlerModule, ConcurrencyLimiter, LoginThrottle],
})
export class ThrottlingModule {}
