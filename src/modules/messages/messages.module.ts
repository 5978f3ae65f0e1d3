import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ImagesModule } from '../gateway/images.module';
import { ModerationModule } from '../moderation/moderation.module';
import { ModelsModule } from '../models/models.module';
import { SummarizationModule } from '../summarization/summarization.module';
import { ThreadsModule } from '../threads/threads.module';
import { ContextBuilder } from './context-builder';
import { GenerationService } from './generation.service';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';
import { MessagesService } from './messages.service';
import { OrphanedAnswers } from './orphaned-answers';

@Module({
  imports: [AuthModule, ImagesModule, ModelsModule, ModerationModule, ThreadsModule, SummarizationModule],
  controllers: [MessagesController],
  providers: [MessagesRepository, MessagesService, GenerationService, ContextBuilder, OrphanedAnswers],
  exports: [MessagesRepository, GenerationService, OrphanedAnswers],
})
export class MessagesModule {}
