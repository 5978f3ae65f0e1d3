import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { ModelsModule } from '../models/models.module';
import { ModerationModule } from '../moderation/moderation.module';
import { ThreadsModule } from '../threads/threads.module';
import { UsageModule } from '../usage/usage.module';
import { CompletionsService } from './completions.service';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';

@Module({
  imports: [ModelsModule, ModerationModule, UsageModule, ThreadsModule, MessagesModule],
  controllers: [GatewayController],
  providers: [CompletionsService, GatewayService],
  exports: [CompletionsService],
})
export class GatewayModule {}
