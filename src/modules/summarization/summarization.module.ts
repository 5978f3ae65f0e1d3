import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { ThreadsModule } from '../threads/threads.module';
import { SummarizationController } from './summarization.controller';
import { SummarizationRepository } from './summarization.repository';
import { SummarizationService } from './summarization.service';

@Module({
  imports: [ModelsModule, ThreadsModule],
  controllers: [SummarizationController],
  providers: [SummarizationRepository, SummarizationService],
  exports: [SummarizationService],
})
export class SummarizationModule {}
