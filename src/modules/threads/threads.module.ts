import { Module } from '@nestjs/common';
import { ThreadEvents } from './thread-events';
import { ThreadsController } from './threads.controller';
import { ThreadsRepository } from './threads.repository';
import { ThreadsService } from './threads.service';

@Module({
  controllers: [ThreadsController],
  providers: [ThreadsRepository, ThreadsService, ThreadEvents],
  exports: [ThreadsService, ThreadsRepository, ThreadEvents],
})
export class ThreadsModule {}
