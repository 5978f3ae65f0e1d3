/** A background job handler; throwing makes the queue retry it with backoff. */
export type JobHandler<T> = (payload: T) => Promise<void>;

/**
 * Port: background jobs by name, at most one pending or running job per key. In process
 * by default; BullMQ on Redis when scaled out, behind the same methods.
 */
export abstract class JobQueue {
  abstract register<T>(name: string, handler: JobHandler<T>): void;
  /** Queues a job unless one with this key is pending or running; returns whether it was queued. */
  abstract enqueue<T>(name: string, key: string, payload: T): Promise<boolean>;
  /** Whether a job with this key is pending or running. */
  abstract isPending(name: string, key: string): boolean;
  /** Resolves when no job is pending or running (tests, shutdown). */
  abstract idle(): Promise<void>;
}
