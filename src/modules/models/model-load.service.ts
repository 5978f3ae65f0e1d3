import { HttpStatus, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter, on } from 'node:events';
import { SseEvent } from '../../common/http/sse-streams';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { translateProviderError } from './model-errors';
import { LoadProgress } from './model-provider';
import { CatalogEntry, ModelStatusDto } from './models.dto';
import { ModelsService } from './models.service';

export type LoadEvent =
  | { event: 'progress'; data: LoadProgress }
  | { event: 'loaded'; data: { modelId: string; durationMs: number } }
  | { event: 'error'; data: { code: string; message: string } };

interface LoadJob {
  id: string;
  modelId: string;
  state: 'loading' | 'loaded' | 'error';
  progress: number;
  startedAt: number;
  finishedAt?: number;
  error?: string;
  events: LoadEvent[];
  emitter: EventEmitter;
  abort: AbortController;
}

/** Finished jobs stay visible this long (status `error`, replay for late subscribers). */
const KEEP_FINISHED_MS = 10 * 60_000;
/** A first guess until a real pull reports progress. */
const ESTIMATED_LOAD_SECONDS = 180;

/**
 * On-demand loading of local models as jobs: one job per model at a time (a second
 * request joins it), progress kept as events so any number of SSE clients can follow.
 * Loading makes the server pull models, so only those MODEL_LOADS allows (admins by
 * default) may start one, follow one, or see a job in a model's status.
 */
@Injectable()
export class ModelLoadService implements OnModuleDestroy {
  private readonly logger = new Logger('ModelLoad');
  private readonly jobs = new Map<string, LoadJob>();

  constructor(
    private readonly models: ModelsService,
    private readonly config: AppConfig,
  ) {}

  /** Whether this user may load models and see load jobs (MODEL_LOADS=admin|users). */
  mayLoad(user: AuthUser): boolean {
    return this.config.MODEL_LOADS === 'users' || user.role === 'admin';
  }

  /** 403 FORBIDDEN unless the user may load models. */
  assertMayLoad(user: AuthUser): void {
    if (!this.mayLoad(user)) throw new AppException(ErrorCode.FORBIDDEN, 'Only administrators may load models on this server', HttpStatus.FORBIDDEN);
  }

  /** Starts loading, or joins the job already loading this model; 403 unless the user may load models. */
  start(user: AuthUser, entry: CatalogEntry): { job: LoadJob; joined: boolean } {
    this.assertMayLoad(user);
    this.prune();
    const running = [...this.jobs.values()].find((j) => j.modelId === entry.id && j.state === 'loading');
    if (running) return { job: running, joined: true };
    const provider = this.models.localProvider(entry);
    const job: LoadJob = {
      id: `load_${randomUUID()}`,
      modelId: entry.id,
      state: 'loading',
      progress: 0,
      startedAt: Date.now(),
      events: [],
      emitter: new EventEmitter(),
      abort: new AbortController(),
    };
    this.jobs.set(job.id, job);
    void (async () => {
      try {
        for await (const progress of provider.load(entry.model, job.abort.signal)) {
          job.progress = progress.progress;
          this.emit(job, { event: 'progress', data: progress });
        }
        job.state = 'loaded';
        this.emit(job, { event: 'loaded', data: { modelId: entry.id, durationMs: Date.now() - job.startedAt } });
      } catch (error) {
        const failure = translateProviderError(error, entry.provider);
        job.state = 'error';
        job.error = failure.message;
        this.logger.warn(`Loading ${entry.id} failed: ${(error as Error).message}`);
        this.emit(job, { event: 'error', data: { code: failure.code, message: failure.message } });
      } finally {
        job.finishedAt = Date.now();
      }
    })();
    return { job, joined: false };
  }

  /** A load job to follow; 403 unless the user may load models (job ids are not secrets). */
  job(user: AuthUser, modelId: string, jobId: string): LoadJob {
    this.assertMayLoad(user);
    const job = this.jobs.get(jobId);
    if (!job || job.modelId !== modelId) throw AppException.notFound('Load job');
    return job;
  }

  /** Every event so far, then live ones until the job ends or `signal` aborts; ids are the events' positions. */
  async *events(job: LoadJob, signal: AbortSignal): AsyncIterable<SseEvent> {
    // Listening before the replay, so no event falls between the two.
    const live = on(job.emitter, 'event', { signal });
    let next = 0;
    try {
      for (;;) {
        while (next < job.events.length) {
          const { event, data } = job.events[next];
          yield { id: String(next++), event, data };
          if (event !== 'progress') return;
        }
        if (job.state !== 'loading') return;
        await live.next();
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      await live.return?.();
    }
  }

  /** The model's state; load jobs (progress, failures, last load) only for users who may load models. */
  async status(entry: CatalogEntry, user: AuthUser): Promise<ModelStatusDto> {
    const userId = user.id;
    const base = { modelId: entry.id, loadProgress: null, memoryUsage: null, lastLoaded: null, estimatedLoadTime: null };
    const visible = this.mayLoad(user) ? [...this.jobs.values()] : [];
    const jobs = visible.filter((j) => j.modelId === entry.id).sort((a, b) => b.startedAt - a.startedAt);
    const latest = jobs[0];
    if (latest?.state === 'loading') {
      const elapsed = (Date.now() - latest.startedAt) / 1000;
      const estimate = latest.progress > 0 ? Math.round((elapsed * (100 - latest.progress)) / latest.progress) : ESTIMATED_LOAD_SECONDS;
      return { ...base, status: 'loading', loadProgress: latest.progress, estimatedLoadTime: estimate };
    }
    if (!entry.requiresLoading) {
      const available = (await this.models.list(userId)).some((m) => m.id === entry.id && m.available);
      return { ...base, status: available ? 'loaded' : 'unavailable' };
    }
    const lastLoaded = jobs.find((j) => j.state === 'loaded')?.finishedAt;
    try {
      const local = await this.models.localProvider(entry).status(entry.model);
      if (local.status === 'not_loaded' && latest?.state === 'error') return { ...base, status: 'error', error: latest.error };
      return {
        ...base,
        status: local.status,
        loadProgress: local.status === 'loaded' ? 100 : null,
        memoryUsage: local.memoryUsage ?? null,
        lastLoaded: lastLoaded ? new Date(lastLoaded).toISOString() : null,
      };
    } catch {
      return { ...base, status: 'unavailable' };
    }
  }

  onModuleDestroy(): void {
    for (const job of this.jobs.values()) job.abort.abort();
  }

  private emit(job: LoadJob, event: LoadEvent): void {
    job.events.push(event);
    job.emitter.emit('event', event, job.events.length - 1);
  }

  private prune(): void {
    const cutoff = Date.now() - KEEP_FINISHED_MS;
    for (const [id, job] of this.jobs) if (job.finishedAt && job.finishedAt < cutoff) this.jobs.delete(id);
  }
}
