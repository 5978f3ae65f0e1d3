import { Injectable, Logger } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric name starts with this (the default Node process metrics too). */
export const METRICS_PREFIX = 'parley_';

/** Longest a scrape waits for one on-scrape source (a database ping, a queue count): a scrape never hangs. */
export const COLLECT_TIMEOUT_MS = 1_000;

/** Route label of requests that matched no route (404s, refusals before routing): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Status label of a request whose client went away before any response was sent (nginx's convention). */
export const CLIENT_CLOSED_STATUS = '499';

/** How a provider call ended: answered, failed, or stopped by the caller (or its reader left early). */
export type ProviderOutcome = 'ok' | 'error' | 'cancelled';

/** Depth of one job queue (by job name), as reported at each scrape. */
export interface QueueDepth {
  queue: string;
  waiting: number;
  active: number;
}

/** Reachability checks run at each scrape; `redis` only when Redis is configured. */
export interface DependencyChecks {
  database: () => Promise<boolean>;
  redis?: () => Promise<boolean>;
}

/** What the provider registry records about one call (see Metrics.providerCall). */
export interface ProviderCallRecorder {
  /** Call at each text chunk: the first one is the time to first token. */
  text(): void;
  /** Call with the usage of the final chunk. */
  usage(usage: { inputTokens: number; outputTokens: number }): void;
  /** Call once when the call is over; later calls do nothing. */
  end(outcome: ProviderOutcome): void;
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Seconds; SSE answers and /v1 streams last far longer than a JSON request, hence the long tail. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const FIRST_TOKEN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120];
const PROVIDER_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** The value of `source()`, or `fallback` when it throws or takes longer than COLLECT_TIMEOUT_MS. */
async function bounded<T>(source: () => T | Promise<T>, fallback: T, onError: (error: unknown) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      onError(new Error(`no answer within ${COLLECT_TIMEOUT_MS} ms`));
      resolve(fallback);
    }, COLLECT_TIMEOUT_MS).unref();
  });
  const value = (async () => source())().catch((error: unknown) => {
    onError(error);
    return fallback;
  });
  try {
    return await Promise.race([value, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Parley's Prometheus metrics, on a registry of this app instance's own (never prom-client's
 * global one: tests boot several apps in one process). GET /metrics renders `scrape()`.
 *
 * Hooks for code outside this module:
 * - `sseOpened()` when an SSE response starts; call the function it returns once it closes.
 * - `reportRunningGenerations(() => count)` once; the gauge is read from it at each scrape.
 * - `reportJobCounts(() => [{ queue, waiting, active }])` once; `jobFailed(queue)` per job failed for good.
 * - `reportDependencies({ database, redis? })` (HealthService does it).
 */
@Injectable()
export class Metrics {
  private readonly logger = new Logger('Metrics');
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: `${METRICS_PREFIX}http_requests_total`,
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpRequestDuration = new Histogram({
    name: `${METRICS_PREFIX}http_request_duration_seconds`,
    help: 'Time from the request to the end of its response (of the stream, for SSE), by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  readonly sseConnections = new Gauge({
    name: `${METRICS_PREFIX}sse_connections`,
    help: 'Server-Sent Event responses open now',
    registers: [this.registry],
  });

  readonly generationsRunning: Gauge;

  readonly timeToFirstToken = new Histogram({
    name: `${METRICS_PREFIX}time_to_first_token_seconds`,
    help: 'Time from a provider call (retries included) to its first text chunk, by provider',
    labelNames: ['provider'] as const,
    buckets: FIRST_TOKEN_BUCKETS,
    registers: [this.registry],
  });

  readonly providerRequestDuration = new Histogram({
    name: `${METRICS_PREFIX}provider_request_duration_seconds`,
    help: 'Duration of a whole provider call (retries included), by provider and outcome (ok, error, cancelled)',
    labelNames: ['provider', 'outcome'] as const,
    buckets: PROVIDER_BUCKETS,
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: `${METRICS_PREFIX}tokens_total`,
    help: 'Tokens as reported by providers, by provider and direction (in: prompt, out: completion)',
    labelNames: ['provider', 'direction'] as const,
    registers: [this.registry],
  });

  readonly credentialCacheLookups = new Counter({
    name: `${METRICS_PREFIX}credential_cache_lookups_total`,
    help: 'Lookups of personal tokens and provider keys in the in-process credential cache, by result (hit or miss)',
    labelNames: ['kind', 'result'] as const,
    registers: [this.registry],
  });

  readonly rateLimitRejections = new Counter({
    name: `${METRICS_PREFIX}rate_limit_rejections_total`,
    help: 'Requests answered 429 by the rate limiter, by limit name',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  readonly jobs: {
    readonly waiting: Gauge<'queue'>;
    readonly active: Gauge<'queue'>;
    readonly failed: Counter<'queue'>;
  };

  /** Registered by reportDependencies() only, so an unwired check never reads as "down". */
  readonly databaseUp: Gauge;

  /** Registered by reportDependencies() when Redis is configured; absent from /metrics without REDIS_URL. */
  readonly redisUp: Gauge;

  private dependencies?: DependencyChecks;
  private runningGenerations?: () => number;
  private jobCounts?: () => QueueDepth[] | Promise<QueueDepth[]>;
  /** One read of the job counts shared by both job gauges during a scrape. */
  private jobCountsInFlight?: Promise<QueueDepth[]>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: METRICS_PREFIX });

    const metrics = this;
    this.generationsRunning = new Gauge({
      name: `${METRICS_PREFIX}generations_running`,
      help: 'Answers being generated by this process now',
      registers: [this.registry],
      async collect() {
        const source = metrics.runningGenerations;
        if (!source) return;
        const count = await bounded(source, NaN, (e) => metrics.collectFailed('generations_running', e));
        if (Number.isFinite(count)) this.set(count);
      },
    });

    const jobGauge = (kind: 'waiting' | 'active', help: string) =>
      new Gauge({
        name: `${METRICS_PREFIX}jobs_${kind}`,
        help,
        labelNames: ['queue'] as const,
        registers: [this.registry],
        async collect() {
          if (!metrics.jobCounts) return;
          const counts = await metrics.readJobCounts();
          this.reset();
          for (const c of counts) if (Number.isFinite(c[kind])) this.set({ queue: c.queue }, c[kind]);
        },
      });
    const dependencyGauge = (name: 'database' | 'redis', help: string) =>
      new Gauge({
        name: `${METRICS_PREFIX}${name}_up`,
        help,
        registers: [],
        async collect() {
          const check = metrics.dependencies?.[name];
          if (check) this.set((await bounded(check, false, (e) => metrics.collectFailed(`${name}_up`, e))) ? 1 : 0);
        },
      });
    this.databaseUp = dependencyGauge('database', '1 when the database answered a trivial query within 1 s at this scrape, else 0');
    this.redisUp = dependencyGauge('redis', '1 when Redis answered PING within 1 s at this scrape, else 0 (absent when REDIS_URL is unset)');

    this.jobs = {
      waiting: jobGauge('waiting', 'Background jobs queued and not started, by queue (job name)'),
      active: jobGauge('active', 'Background jobs running now, by queue (job name)'),
      failed: new Counter({
        name: `${METRICS_PREFIX}jobs_failed_total`,
        help: 'Background jobs that failed for good (after their retries), by queue (job name)',
        labelNames: ['queue'] as const,
        registers: [this.registry],
      }),
    };
  }

  /** prom-client's text format content type (Prometheus 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text; every on-scrape source is bounded to COLLECT_TIMEOUT_MS. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  // --- HTTP ----------------------------------------------------------------------------

  /** One finished (or abandoned) HTTP request; `route` is a template or UNMATCHED_ROUTE, never a raw URL. */
  observeHttpRequest(method: string, route: string, status: number | string, seconds: number): void {
    const labels = { method: HTTP_METHODS.has(method.toUpperCase()) ? method.toUpperCase() : 'OTHER', route, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpRequestDuration.observe(labels, seconds);
  }

  // --- SSE -----------------------------------------------------------------------------

  /**
   * Counts an SSE response as open; returns the function to call when it closes (idempotent:
   * calling it again does nothing, so it can sit on both `close` and `finish`).
   */
  sseOpened(): () => void {
    this.sseConnections.inc();
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.sseConnections.dec();
    };
  }

  // --- Generations and jobs ------------------------------------------------------------

  /** Where parley_generations_running is read at each scrape (e.g. `() => running.all().length`). Replaces any earlier source. */
  reportRunningGenerations(count: () => number): void {
    this.runningGenerations = count;
  }

  /** Where parley_jobs_waiting/active are read at each scrape, one entry per queue. Replaces any earlier source. */
  reportJobCounts(counts: () => QueueDepth[] | Promise<QueueDepth[]>): void {
    this.jobCounts = counts;
  }

  /** One job of `queue` (the job name) that failed for good, after its retries. */
  jobFailed(queue: string): void {
    this.jobs.failed.inc({ queue });
  }

  private readJobCounts(): Promise<QueueDepth[]> {
    const source = this.jobCounts;
    if (!source) return Promise.resolve([]);
    this.jobCountsInFlight ??= bounded(source, [], (e) => this.collectFailed('jobs', e)).finally(() => {
      this.jobCountsInFlight = undefined;
    });
    return this.jobCountsInFlight;
  }

  // --- Dependencies --------------------------------------------------------------------

  /**
   * Registers parley_database_up (and parley_redis_up when `checks.redis` is given), set at
   * each scrape from these checks: 1 when one resolves true within COLLECT_TIMEOUT_MS, else 0.
   */
  reportDependencies(checks: DependencyChecks): void {
    this.dependencies = checks;
    const register = (gauge: Gauge, name: string, wanted: boolean) => {
      const registered = this.registry.getSingleMetric(name) !== undefined;
      if (wanted && !registered) this.registry.registerMetric(gauge);
      if (!wanted && registered) this.registry.removeSingleMetric(name);
    };
    register(this.databaseUp, `${METRICS_PREFIX}database_up`, true);
    register(this.redisUp, `${METRICS_PREFIX}redis_up`, checks.redis !== undefined);
  }

  // --- Providers -----------------------------------------------------------------------

  /** Starts timing one provider call; see ProviderCallRecorder. */
  providerCall(provider: string): ProviderCallRecorder {
    const started = process.hrtime.bigint();
    let firstText = true;
    let ended = false;
    return {
      text: () => {
        if (!firstText) return;
        firstText = false;
        this.timeToFirstToken.observe({ provider }, secondsSince(started));
      },
      usage: ({ inputTokens, outputTokens }) => {
        // A counter refuses negative increments: a provider's odd usage must never break its stream.
        if (Number.isFinite(inputTokens) && inputTokens > 0) this.tokens.inc({ provider, direction: 'in' }, inputTokens);
        if (Number.isFinite(outputTokens) && outputTokens > 0) this.tokens.inc({ provider, direction: 'out' }, outputTokens);
      },
      end: (outcome) => {
        if (ended) return;
        ended = true;
        this.providerRequestDuration.observe({ provider, outcome }, secondsSince(started));
      },
    };
  }

  // --- Rate limits ---------------------------------------------------------------------

  /** One request answered 429 under the limit `limit` (e.g. `login`, `messages.send`, `default`). */
  rateLimited(limit: string): void {
    this.rateLimitRejections.inc({ limit });
  }

  private collectFailed(what: string, error: unknown): void {
    this.logger.debug(`Metrics source ${what} failed at scrape: ${(error as Error)?.message ?? String(error)}`);
  }
}
