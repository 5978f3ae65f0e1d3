import { Global, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { Metrics } from '../metrics/metrics';
import { AppConfig } from '../../config/app.config';
import { BullmqJobQueue } from './bullmq-job-queue';
import { InProcessJobQueue } from './in-process-job-queue';
import { JobQueue } from './job-queue';

/** Queue depth and final failures in /metrics, whichever adapter runs. */
@Injectable()
class QueueMetrics implements OnModuleInit {
  constructor(
    private readonly queue: JobQueue,
    private readonly metrics: Metrics,
  ) {}

  onModuleInit(): void {
    this.queue.onFinalFailure((name) => this.metrics.jobFailed(name));
    this.metrics.reportJobCounts(async () => {
      const counts = await this.queue.counts?.();
      return counts ? [{ queue: 'jobs', waiting: counts.waiting, active: counts.active }] : [];
    });
  }
}

/** The job queue adapter: BullMQ on Redis when REDIS_URL is set (shared by every pod), in process otherwise. */
@Global()
@Module({
  providers: [
    {
      provide: JobQueue,
      inject: [AppConfig],
      useFactory: (config: AppConfig): JobQueue => (config.REDIS_URL ? new BullmqJobQueue(config) : new InProcessJobQueue()),
    },
    QueueMetrics,
  ],
  exports: [JobQueue],
})
export class QueueModule {}
