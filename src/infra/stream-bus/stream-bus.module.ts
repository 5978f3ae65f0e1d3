import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { REDIS, RedisClient } from '../redis/redis.module';
import { InMemoryStreamBus } from './in-memory-stream-bus';
import { RedisStreamBus } from './redis-stream-bus';
import { StreamBus } from './stream-bus';

/** The stream bus adapter: Redis Streams when REDIS_URL is set, else in memory. */
@Global()
@Module({
  providers: [
    {
      provide: StreamBus,
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: RedisClient): StreamBus =>
        redis
          ? // Blocking reads get a connection of their own, without the shared command timeout.
            new RedisStreamBus(redis, redis.duplicate({ commandTimeout: undefined }), config.REDIS_KEY_PREFIX)
          : new InMemoryStreamBus(),
    },
  ],
  exports: [StreamBus],
})
export class StreamBusModule {}
