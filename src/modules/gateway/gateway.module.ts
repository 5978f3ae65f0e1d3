import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { ModelsModule } from '../models/models.module';
import { ModerationModule } from '../moderation/moderation.module';
import { ThreadsModule } from '../threads/threads.module';
import { UsageModule } from '../usage/usage.module';
import { CompletionsService } from './completions.service';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';
import { ImagesModule } from './images.module';
import { ResponsesController } from './responses/responses.controller';
import { ResponsesRepository } from './responses/responses.repository';
import { ResponsesService } from './responses/responses.service';

@Module({
  imports: [ModelsModule, ModerationModule, UsageModule, ThreadsModule, MessagesModule, ImagesModule],
  controllers: [GatewayController, ResponsesController],
  providers: [CompletionsService, GatewayService, ResponsesService, ResponsesRepository],
  exports: [CompletionsService],
})
export class GatewayModule {}
