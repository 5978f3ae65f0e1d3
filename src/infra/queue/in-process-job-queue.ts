import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { backOff } from 'exponential-backoff';
import { JobHandler, JobQueue } from './job-queue';

const ATTEMPTS = 3;

/** Jobs run in this process, off the request path, retried with exponential backoff. */
@Injectable()
export class InProcessJobQueue extends JobQueue implements OnModuleDestroy {
  private readonly logger = new Logger('Jobs');
  private readonly handlers = new Map<string, JobHandler<unknown>>();
  private readonly active = new Map<string, Promise<void>>();
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
      .catch((error: Error) => this.logger.warn(`Job ${id} failed after ${ATTEMPTS} attempts: ${error.message}`))
      .finally(() => this.active.delete(id));
    this.active.set(id, run);
    return true;
  }

  isPending(name: string, key: string): boolean {
    return this.active.has(`${name}:${key}`);
  }

  async idle(): Promise<void> {
    while (this.active.size) await Promise.allSettled([...this.active.values()]);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }
}
