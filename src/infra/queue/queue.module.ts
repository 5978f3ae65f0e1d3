import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { BullmqJobQueue } from './bullmq-job-queue';
import { InProcessJobQueue } from './in-process-job-queue';
import { JobQueue } from './job-queue';

/** The job queue adapter: BullMQ on Redis when REDIS_URL is set (shared by every pod), in process otherwise. */
@Global()
@Module({
  providers: [
    {
      provide: JobQueue,
      inject: [AppConfig],
      useFactory: (config: AppConfig): JobQueue => (config.REDIS_URL ? new BullmqJobQueue(config) : new InProcessJobQueue()),
    },
  ],
  exports: [JobQueue],
})
export class QueueModule {}
