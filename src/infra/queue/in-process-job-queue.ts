import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { backOff } from 'exponential-backoff';
import { JobCounts, JobHandler, JobQueue } from './job-queue';

const ATTEMPTS = 3;
/** Failures counted by counts(): those of the last day, at most this many. */
const FAILURES_KEPT = 1000;
const FAILURES_KEPT_MS = 24 * 3600_000;

/** Jobs run in this process, off the request path, retried with exponential backoff. */
@Injectable()
export class InProcessJobQueue extends JobQueue implements OnModuleDestroy {
  private readonly logger = new Logger('Jobs');
  private readonly handlers = new Map<string, JobHandler<unknown>>();
  private readonly active = new Map<string, Promise<void>>();
  /** When jobs failed for good, oldest first. */
  private readonly failures: number[] = [];
  private stopped = false;

  register<T>(name: string, handler: JobHandler<T>): void {
    this.handlers.set(name, handler as JobHandler<unknown>);
  }

  async enqueue<T>(name: string, key: string, payload: T): Promise<boolean> {
    const id = `${name}:${key}`;
    const handler = this.handlers.get(name);
    if (!handler || this.stopped || this.active.has(id)) return false;
    const run = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => backOff(() => handler(payload), { numOfAttempts: ATTEMPTS, startingDelay: 500, timeMultiple: 4, jitter: 'full', retry: () => !this.stopped }))
      .catch((error: Error) => {
        this.failures.push(Date.now());
        if (this.failures.length > FAILURES_KEPT) this.failures.shift();
        this.logger.warn(`Job ${id} failed after ${ATTEMPTS} attempts: ${error.message}`);
        this.reportFinalFailure(name);
      })
      .finally(() => this.active.delete(id));
    this.active.set(id, run);
    return true;
  }

  async isPending(name: string, key: string): Promise<boolean> {
    return this.active.has(`${name}:${key}`);
  }

  async idle(): Promise<void> {
    while (this.active.size) await Promise.allSettled([...this.active.values()]);
  }

  override async counts(): Promise<JobCounts> {
    const since = Date.now() - FAILURES_KEPT_MS;
    while (this.failures.length && this.failures[0] < since) this.failures.shift();
    return { waiting: 0, active: this.active.size, failed: this.failures.length };
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }
}
