import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { REDIS, RedisClient } from '../redis/redis.module';
import { Broadcast } from './broadcast';
import { InMemoryBroadcast } from './in-memory-broadcast';
import { RedisBroadcast } from './redis-broadcast';

/** The broadcast adapter: Redis pub/sub when REDIS_URL is set, else in process. */
@Global()
@Module({
  providers: [
    {
      provide: Broadcast,
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: RedisClient): Broadcast =>
        redis
          ? // A subscribed connection can do nothing else; it queues subscriptions made while it reconnects.
            new RedisBroadcast(redis, redis.duplicate({ commandTimeout: undefined, enableOfflineQueue: true, maxRetriesPerRequest: null }), config.REDIS_KEY_PREFIX)
          : new InMemoryBroadcast(),
    },
  ],
  exports: [Broadcast],
})
export class BroadcastModule {}
