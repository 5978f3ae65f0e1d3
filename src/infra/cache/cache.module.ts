import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { REDIS, RedisClient } from '../redis/redis.module';
import { CacheFactory } from './cache';
import { CredentialCache } from './credential-cache';
import { LruCacheFactory } from './lru-cache';
import { RedisCacheFactory } from './redis-cache';

/** The cache adapter: shared in Redis when REDIS_URL is set (falling back to per process while it fails), per process otherwise. */
@Global()
@Module({
  providers: [
    {
      provide: CacheFactory,
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: RedisClient): CacheFactory =>
        redis ? new RedisCacheFactory(redis, config.REDIS_KEY_PREFIX) : new LruCacheFactory(),
    },
    CredentialCache,
  ],
  exports: [CacheFactory, CredentialCache],
})
export class CacheModule {}
