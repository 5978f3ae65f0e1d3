import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { CommonModule } from './common/common.module';
import { loggerOptions } from './common/logging/logger.options';
import { AppConfig } from './config/app.config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './infra/database/database.module';
import { RedisModule } from './infra/redis/redis.module';
import { MetricsModule } from './infra/metrics/metrics.module';
import { CryptoModule } from './infra/crypto/crypto.module';
import { AdminModule } from './modules/admin/admin.module';
import { AuditModule } from './modules/audit/audit.module';
import { AuthModule } from './modules/auth/auth.module';
import { HealthModule } from './modules/health/health.module';
import { ModelsModule } from './modules/models/models.module';
import { ProfileModule } from './modules/profile/profile.module';
import { ThreadsModule } from './modules/threads/threads.module';
import { MessagesModule } from './modules/messages/messages.module';
import { StreamBusModule } from './infra/stream-bus/stream-bus.module';
import { BroadcastModule } from './infra/broadcast/broadcast.module';
import { GenerationsModule } from './infra/generations/generations.module';
import { QueueModule } from './infra/queue/queue.module';
import { CacheModule } from './infra/cache/cache.module';
import { SummarizationModule } from './modules/summarization/summarization.module';
import { GatewayModule } from './modules/gateway/gateway.module';
import { LlmModule } from './modules/llm/llm.module';
import { UsageModule } from './modules/usage/usage.module';

export interface AppModuleOptions {
  /** Where log lines go instead of stdout (tests capture them). */
  logDestination?: DestinationStream;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot(loggerOptions(config, options.logDestination)),
        CommonModule,
        DatabaseModule,
        RedisModule,
        MetricsModule,
        CryptoModule,
        AuditModule,
        AuthModule,
        HealthModule,
        ProfileModule,
        ModelsModule,
        ThreadsModule,
        BroadcastModule,
        StreamBusModule,
        GenerationsModule,
        QueueModule,
        CacheModule,
        SummarizationModule,
        MessagesModule,
        UsageModule,
        GatewayModule,
        LlmModule,
        AdminModule,
      ],
    };
  }
}
