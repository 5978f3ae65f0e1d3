import { Global, Module } from '@nestjs/common';
import { InProcessJobQueue } from './in-process-job-queue';
import { JobQueue } from './job-queue';

/** The job queue adapter; BullMQ will be chosen here when REDIS_URL is set. */
@Global()
@Module({
  providers: [{ provide: JobQueue, useClass: InProcessJobQueue }],
  exports: [JobQueue],
})
export class QueueModule {}
