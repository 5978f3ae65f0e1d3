/** A background job handler; throwing makes the queue retry it with backoff. */
export type JobHandler<T> = (payload: T) => Promise<void>;

/** Jobs of this deployment's queue(s) by state, for metrics. */
export interface JobCounts {
  /** Queued, not yet started (BullMQ: waiting, prioritized and delayed, including retries waiting for their backoff). */
  waiting: number;
  /** Running now (in process: also those waiting for a retry). */
  active: number;
  /** Failed for good after every attempt: BullMQ keeps them a day (at most 1000); in process, those of the last day. */
  failed: number;
}

/**
 * Port: background jobs by name, at most one pending or running job per key. In process
 * by default (InProcessJobQueue); BullMQ on Redis when REDIS_URL is set (BullmqJobQueue),
 * where the key is deduplicated across every pod of the deployment.
 */
export abstract class JobQueue {
  private readonly failureHandlers: Array<(name: string) => void> = [];

  /** Called with the job name each time a job fails for good, after its retries (metrics). */
  onFinalFailure(handler: (name: string) => void): void {
    this.failureHandlers.push(handler);
  }

  protected reportFinalFailure(name: string): void {
    for (const handler of this.failureHandlers) handler(name);
  }

  /** The handler of a job name; register before the application starts (onModuleInit). */
  abstract register<T>(name: string, handler: JobHandler<T>): void;
  /**
   * Queues a job unless one with this key is pending or running; returns whether it was
   * queued. Payloads must be plain JSON data (BullMQ stores them as JSON). In process, a name
   * without a handler queues nothing; BullMQ queues it for any pod that has one. Rejects,
   * without waiting, when the queue's store is unreachable.
   */
  abstract enqueue<T>(name: string, key: string, payload: T): Promise<boolean>;
  /** Whether a job with this key is pending or running (waiting for a retry included). */
  abstract isPending(name: string, key: string): Promise<boolean>;
  /** Resolves when no job is pending or running (tests, shutdown). */
  abstract idle(): Promise<void>;
  /** Jobs by state (metrics). */
  counts?(): Promise<JobCounts>;
}
