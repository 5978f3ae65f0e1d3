import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { REDIS, RedisClient } from '../redis/redis.module';
import { GenerationRegistry } from './generation-registry';
import { InMemoryGenerationRegistry } from './in-memory-generation-registry';
import { RedisGenerationRegistry } from './redis-generation-registry';
import { RunningGenerations } from './running-generations';

/** Running answers: this process's own (RunningGenerations) and the deployment's (GenerationRegistry, Redis when REDIS_URL is set). */
@Global()
@Module({
  providers: [
    RunningGenerations,
    {
      provide: GenerationRegistry,
      inject: [AppConfig, REDIS],
      useFactory: (config: AppConfig, redis: RedisClient): GenerationRegistry =>
        redis
          ? new RedisGenerationRegistry(redis, config.REDIS_KEY_PREFIX, config.GENERATION_HEARTBEAT_MS, config.GENERATION_ORPHAN_AFTER_MS)
          : new InMemoryGenerationRegistry(),
    },
  ],
  exports: [RunningGenerations, GenerationRegistry],
})
export class GenerationsModule {}
