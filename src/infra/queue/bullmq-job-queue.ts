import { Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Job, JobState, Queue, RedisOptions, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AppConfig } from '../../config/app.config';
import { REDIS_OPTIONS } from '../redis/redis.module';
import { JobCounts, JobHandler, JobQueue } from './job-queue';

/** One queue for every job name; the worker dispatches by name. */
export const QUEUE_NAME = 'jobs';
const ATTEMPTS = 3;
/** First retry after ~0.5 s, then ~1 s (exponential, with jitter), like the in-process queue's backoff. */
const BACKOFF = { type: 'exponential', delay: 500, jitter: 0.5 } as const;
/** Jobs one pod runs at once. */
const CONCURRENCY = 2;
/** Failed jobs are kept this long (and at most FAILED_KEPT of them) for inspection and counts(). */
const FAILED_KEPT = { age: 24 * 3600, count: 1000 };
/** A pod that dies mid-job loses its lock after LOCK_MS; another pod's stalled check (every LOCK_MS) queues the job again. */
const LOCK_MS = 30_000;
/** enqueue() and isPending() never wait longer than this for Redis. */
const CALL_TIMEOUT_MS = 2_000;
const IDLE_POLL_MS = 50;
/** How long boot waits for the producer's first connection (so the first jobs find it ready); never fails. */
const BOOT_WAIT_MS = 2_000;
/** The same warning (e.g. "connect ECONNREFUSED" on every reconnect attempt) at most once per this. */
const WARN_EVERY_MS = 60_000;
const PENDING: ReadonlySet<JobState | 'unknown'> = new Set<JobState | 'unknown'>(['waiting', 'prioritized', 'delayed', 'active', 'waiting-children']);

/**
 * BullMQ names may not contain ':' (job ids only in a legacy three-part form), and the
 * summarize key is `thread:model` where a model id may hold ':' too: both parts are
 * URI-encoded and joined with '|'.
 */
export function deduplicationId(name: string, key: string): string {
  return `${encodeURIComponent(name)}|${encodeURIComponent(key)}`;
}

/** `name:key` of a job id (`name|key|uuid`, see enqueue). */
function describeJob(jobId: string | undefined): string {
  const [name, key] = String(jobId).split('|').map(decodeURIComponent);
  return key === undefined ? String(jobId) : `${name}:${key}`;
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export interface BullmqJobQueueOptions {
  /** How long a running job's lock lasts without renewal, and how often stalled jobs are looked for (tests shorten it). */
  lockMs?: number;
}

/**
 * Jobs in Redis through BullMQ (REDIS_URL set): every pod enqueues to and works off one
 * queue of this deployment (keys under REDIS_KEY_PREFIX), so a job survives the pod that
 * queued it and the job of a key runs once however many pods enqueue it.
 *
 * - Dedupe: BullMQ's deduplication id `name|key` (simple mode: held from the add until the
 *   job completes or fails for good, retries included); each add gets a fresh job id, so
 *   `enqueue` knows whether it queued (the returned id is ours) or found one (another id).
 *   Completed jobs are removed, failed ones kept a day: neither blocks a later job of the key.
 * - Connections (not the app's shared client): the producer (Queue) is fail-fast like the
 *   shared client (no offline queue, no command retries, bounded times), and enqueue does
 *   not even try while it is not connected, so a request path never waits for an absent
 *   Redis; the Worker's own two connections retry forever (`maxRetriesPerRequest: null`,
 *   as BullMQ requires) and pick up where they left off when Redis is back.
 * - The worker starts once the application has booted (every handler registered) and
 *   closes on shutdown, waiting up to SHUTDOWN_GRACE_MS for running jobs; a job left
 *   running then is taken over by another pod once its lock expires (stalled job check).
 */
export class BullmqJobQueue extends JobQueue implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Jobs');
  private readonly handlers = new Map<string, JobHandler<unknown>>();
  private readonly producer: Redis;
  private readonly queue: Queue;
  private readonly prefix: string;
  private worker?: Worker;
  private stopped = false;
  private lastWarning = { message: '', at: 0 };

  constructor(
    private readonly config: AppConfig,
    private readonly options: BullmqJobQueueOptions = {},
  ) {
    super();
    if (!config.REDIS_URL) throw new Error('BullmqJobQueue needs REDIS_URL');
    this.prefix = config.REDIS_KEY_PREFIX.replace(/:+$/, '') || 'parley';
    this.producer = new Redis(config.REDIS_URL, { ...REDIS_OPTIONS, connectionName: `${this.prefix}:jobs:producer` });
    this.producer.on('error', (error: Error) => this.warn('Job queue connection failed', error));
    this.queue = new Queue(QUEUE_NAME, {
      connection: this.producer,
      prefix: this.prefix,
      // The version check's INFO could fail on this fail-fast connection and leave the queue unusable; the worker checks it.
      skipVersionCheck: true,
      streams: { events: { maxLen: 1000 } },
      defaultJobOptions: { attempts: ATTEMPTS, backoff: BACKOFF, removeOnComplete: true, removeOnFail: FAILED_KEPT },
    });
    this.queue.on('error', (error) => this.warn('Job queue error', error));
  }

  register<T>(name: string, handler: JobHandler<T>): void {
    this.handlers.set(name, handler as JobHandler<unknown>);
  }

  /** Resolves once the producer is connected, its first connection attempt failed, or BOOT_WAIT_MS passed. */
  async onModuleInit(): Promise<void> {
    if (this.producer.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.producer.off('ready', done).off('error', done);
        resolve();
      };
      const timer = setTimeout(done, BOOT_WAIT_MS);
      this.producer.once('ready', done).once('error', done);
    });
  }

  onApplicationBootstrap(): void {
    this.start();
  }

  /** Starts working off the queue (at boot, once every handler is registered). */
  start(): void {
    if (this.worker || this.stopped) return;
    const connection: RedisOptions = {
      url: this.config.REDIS_URL,
      maxRetriesPerRequest: null,
      connectTimeout: REDIS_OPTIONS.connectTimeout,
      disconnectTimeout: REDIS_OPTIONS.disconnectTimeout,
      retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
    };
    const worker = new Worker(QUEUE_NAME, (job: Job) => this.process(job), {
      connection,
      prefix: this.prefix,
      name: `${hostname()}:${process.pid}`,
      concurrency: CONCURRENCY,
      autorun: false,
      lockDuration: this.options.lockMs ?? LOCK_MS,
      stalledInterval: this.options.lockMs ?? LOCK_MS,
      maxStalledCount: 1,
    });
    worker.on('error', (error) => this.warn('Job worker error', error));
    worker.on('failed', (job, error) => {
      if (!job) return this.warn('Job failed', error);
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade >= attempts) {
        this.logger.warn(`Job ${describeJob(job.id)} failed after ${job.attemptsMade} attempts: ${error.message}`);
        this.reportFinalFailure(job.name);
      } else this.logger.debug(`Job ${describeJob(job.id)} failed (attempt ${job.attemptsMade} of ${attempts}), retrying: ${error.message}`);
    });
    worker.on('stalled', (jobId) => this.logger.warn(`Job ${describeJob(jobId)} stalled (its worker stopped or lost Redis); queued again`));
    worker.run().catch((error: Error) => this.warn('Job worker stopped', error));
    this.worker = worker;
  }

  async enqueue<T>(name: string, key: string, payload: T): Promise<boolean> {
    if (this.stopped) return false;
    this.assertConnected();
    const dedupe = deduplicationId(name, key);
    const jobId = `${dedupe}|${randomUUID()}`;
    const job = await timeout(this.queue.add(name, payload, { jobId, deduplication: { id: dedupe } }), CALL_TIMEOUT_MS, `Queueing job ${name}:${key}`);
    return job.id === jobId;
  }

  async isPending(name: string, key: string): Promise<boolean> {
    this.assertConnected();
    const check = async () => {
      const jobId = await this.queue.getDeduplicationJobId(deduplicationId(name, key));
      return jobId !== null && PENDING.has(await this.queue.getJobState(jobId));
    };
    return timeout(check(), CALL_TIMEOUT_MS, `Looking up job ${name}:${key}`);
  }

  /** Resolves once no job of this deployment is waiting, delayed or running (on any pod). */
  async idle(): Promise<void> {
    for (;;) {
      const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'waiting-children');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  }

  override async counts(): Promise<JobCounts> {
    this.assertConnected();
    const c = await timeout(this.queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed'), CALL_TIMEOUT_MS, 'Counting jobs');
    return { waiting: c.waiting + c.prioritized + c.delayed, active: c.active, failed: c.failed };
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    if (worker) {
      const grace = Math.max(1000, this.config.SHUTDOWN_GRACE_MS);
      // BullMQ's graceful close waits for a connection that is down to come back (for ever);
      // with Redis away a finished job could not be recorded anyway: its lock expires and
      // a pod picks it up again.
      const graceful = this.producer.status === 'ready';
      await timeout(worker.close(!graceful), graceful ? grace : CALL_TIMEOUT_MS, 'Closing the job worker').catch(async () => {
        if (graceful) this.logger.warn(`Jobs still running after ${grace} ms are left to another pod (once their lock expires)`);
        await timeout(worker.getBackend().close(true), CALL_TIMEOUT_MS, 'Closing the job worker').catch(() => undefined);
      });
    }
    await timeout(this.queue.close(), CALL_TIMEOUT_MS, 'Closing the job queue').catch(() => undefined);
    if (this.producer.status === 'ready') await this.producer.quit().catch(() => this.producer.disconnect());
    else this.producer.disconnect();
  }

  private async process(job: Job): Promise<void> {
    const handler = this.handlers.get(job.name);
    if (!handler) throw new Error(`No handler for job ${job.name} in this process`);
    await handler(job.data);
  }

  /** A command while disconnected would fail anyway; failing here says why and never waits. */
  private assertConnected(): void {
    if (this.producer.status !== 'ready') throw new Error(`Redis is not reachable (connection ${this.producer.status})`);
  }

  private warn(what: string, error: Error): void {
    const now = Date.now();
    if (error.message === this.lastWarning.message && now - this.lastWarning.at < WARN_EVERY_MS) return;
    this.lastWarning = { message: error.message, at: now };
    this.logger.warn(`${what}: ${error.message}`);
  }
}
