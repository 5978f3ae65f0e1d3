import { HttpStatus, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { register as globalRegistry } from 'prom-client';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { loadConfig } from '../../config/app.config';
import { CompletionRequest, ModelProvider, StreamChunk } from '../../modules/models/model-provider';
import { ProviderRegistry } from '../../modules/models/provider-registry';
import { routeTemplate } from './http-metrics.middleware';
import { COLLECT_TIMEOUT_MS, Metrics } from './metrics';
import { sameSecret } from './metrics.controller';

const OWN_METRICS = [
  'parley_http_requests_total',
  'parley_http_request_duration_seconds',
  'parley_sse_connections',
  'parley_generations_running',
  'parley_time_to_first_token_seconds',
  'parley_provider_request_duration_seconds',
  'parley_tokens_total',
  'parley_rate_limit_rejections_total',
  'parley_jobs_waiting',
  'parley_jobs_active',
  'parley_jobs_failed_total',
];

/** The values of one metric, as `labels → value` entries (histograms: the `_count` series). */
async function values(metrics: Metrics, name: string): Promise<Array<{ labels: Record<string, unknown>; value: number }>> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values: all } = await metric.get();
  return all
    .filter((v) => {
      const metricName = (v as { metricName?: string }).metricName;
      return !metricName || metricName.endsWith('_count');
    })
    .map(({ labels, value }) => ({ labels: labels as Record<string, unknown>, value }));
}

async function value(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const found = (await values(metrics, name)).find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l));
  return found?.value;
}

// Failing sources are logged at debug: not in this output.
beforeAll(() => Logger.overrideLogger(false));

describe('Metrics', () => {
  it('registers every metric on its own registry, never on prom-client’s global one', async () => {
    const metrics = new Metrics();
    const names = metrics.registry.getMetricsAsArray().map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(OWN_METRICS));
    // Default process metrics, prefixed.
    expect(names).toEqual(expect.arrayContaining(['parley_process_cpu_user_seconds_total', 'parley_nodejs_heap_size_used_bytes']));
    expect(names.every((n) => n.startsWith('parley_'))).toBe(true);
    expect(globalRegistry.getMetricsAsArray().filter((m) => m.name.startsWith('parley_'))).toEqual([]);
    const text = await metrics.scrape();
    expect(text).toContain('# TYPE parley_http_requests_total counter');
    expect(text).toContain('# TYPE parley_time_to_first_token_seconds histogram');
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('lets two instances live side by side, each counting for itself', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.observeHttpRequest('get', '/api/health/live', 200, 0.01);
    a.observeHttpRequest('GET', '/api/health/live', 200, 0.02);
    b.observeHttpRequest('GET', '/api/health/live', 200, 0.01);
    expect(await value(a, 'parley_http_requests_total', { method: 'GET', route: '/api/health/live', status: '200' })).toBe(2);
    expect(await value(b, 'parley_http_requests_total', { method: 'GET', route: '/api/health/live', status: '200' })).toBe(1);
    expect(await value(a, 'parley_http_request_duration_seconds', { route: '/api/health/live' })).toBe(2);
  });

  it('keeps the method label to the known methods', async () => {
    const metrics = new Metrics();
    metrics.observeHttpRequest('PROPFIND', 'unmatched', 404, 0.001);
    expect(await value(metrics, 'parley_http_requests_total', { method: 'OTHER', route: 'unmatched', status: '404' })).toBe(1);
  });

  it('counts SSE connections, each closed once however often its closer runs', async () => {
    const metrics = new Metrics();
    const closeA = metrics.sseOpened();
    const closeB = metrics.sseOpened();
    expect(await value(metrics, 'parley_sse_connections')).toBe(2);
    closeA();
    closeA();
    expect(await value(metrics, 'parley_sse_connections')).toBe(1);
    closeB();
    expect(await value(metrics, 'parley_sse_connections')).toBe(0);
  });

  it('reads running generations at each scrape, and survives a source that throws', async () => {
    const metrics = new Metrics();
    let running = 3;
    metrics.reportRunningGenerations(() => running);
    expect(await value(metrics, 'parley_generations_running')).toBe(3);
    running = 1;
    expect(await value(metrics, 'parley_generations_running')).toBe(1);
    metrics.reportRunningGenerations(() => {
      throw new Error('boom');
    });
    await expect(metrics.scrape()).resolves.toContain('parley_generations_running');
  });

  it('reads job depth once per scrape for both gauges, and counts failures by queue', async () => {
    const metrics = new Metrics();
    const counts = jest.fn(async () => [
      { queue: 'summarize', waiting: 2, active: 1 },
      { queue: 'title', waiting: 0, active: 1 },
    ]);
    metrics.reportJobCounts(counts);
    metrics.jobFailed('summarize');
    metrics.jobs.failed.inc({ queue: 'summarize' });
    const text = await metrics.scrape();
    expect(counts).toHaveBeenCalledTimes(1);
    expect(text).toContain('parley_jobs_waiting{queue="summarize"} 2');
    expect(text).toContain('parley_jobs_active{queue="title"} 1');
    expect(text).toContain('parley_jobs_failed_total{queue="summarize"} 2');
    // A queue that disappears is not reported with a stale value.
    counts.mockResolvedValueOnce([{ queue: 'title', waiting: 4, active: 0 }]);
    const next = await metrics.scrape();
    expect(next).not.toContain('parley_jobs_waiting{queue="summarize"}');
    expect(next).toContain('parley_jobs_waiting{queue="title"} 4');
  });

  it('reports database and Redis reachability only once wired, Redis only when configured', async () => {
    const metrics = new Metrics();
    expect(await metrics.scrape()).not.toMatch(/parley_(database|redis)_up/);
    metrics.reportDependencies({ database: async () => true });
    let text = await metrics.scrape();
    expect(text).toContain('parley_database_up 1');
    expect(text).not.toContain('parley_redis_up');
    metrics.reportDependencies({ database: async () => Promise.reject(new Error('down')), redis: async () => true });
    text = await metrics.scrape();
    expect(text).toContain('parley_database_up 0');
    expect(text).toContain('parley_redis_up 1');
  });

  it('never lets a hanging source hang the scrape', async () => {
    const metrics = new Metrics();
    metrics.reportDependencies({ database: () => new Promise<boolean>(() => undefined), redis: async () => true });
    metrics.reportRunningGenerations(() => 2);
    metrics.reportJobCounts(() => new Promise(() => undefined));
    const started = Date.now();
    const text = await metrics.scrape();
    // Bounded by COLLECT_TIMEOUT_MS; the margin is for a loaded machine (a hang would hit the test timeout).
    expect(Date.now() - started).toBeLessThan(COLLECT_TIMEOUT_MS * 5);
    expect(text).toContain('parley_database_up 0');
    expect(text).toContain('parley_redis_up 1');
    expect(text).toContain('parley_generations_running 2');
  });

  it('records a provider call: first token once, tokens by direction, duration once by outcome', async () => {
    const metrics = new Metrics();
    const call = metrics.providerCall('demo');
    call.text();
    call.text();
    call.usage({ inputTokens: 12, outputTokens: 4 });
    call.usage({ inputTokens: -1, outputTokens: Number.NaN });
    call.end('ok');
    call.end('error');
    expect(await value(metrics, 'parley_time_to_first_token_seconds', { provider: 'demo' })).toBe(1);
    expect(await value(metrics, 'parley_tokens_total', { provider: 'demo', direction: 'in' })).toBe(12);
    expect(await value(metrics, 'parley_tokens_total', { provider: 'demo', direction: 'out' })).toBe(4);
    expect(await value(metrics, 'parley_provider_request_duration_seconds', { provider: 'demo', outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'parley_provider_request_duration_seconds', { provider: 'demo', outcome: 'error' })).toBeUndefined();
  });

  it('counts rate-limit rejections by limit name', async () => {
    const metrics = new Metrics();
    metrics.rateLimited('login');
    metrics.rateLimited('login');
    expect(await value(metrics, 'parley_rate_limit_rejections_total', { limit: 'login' })).toBe(2);
  });
});

describe('routeTemplate', () => {
  it('is the matched route template with its base URL, or "unmatched"', () => {
    expect(routeTemplate({ route: { path: '/api/threads/:threadId' }, baseUrl: '' } as unknown as Request)).toBe('/api/threads/:threadId');
    expect(routeTemplate({ route: { path: '/:id' }, baseUrl: '/api/things' } as unknown as Request)).toBe('/api/things/:id');
    expect(routeTemplate({ baseUrl: '', originalUrl: '/api/threads/123' } as unknown as Request)).toBe('unmatched');
  });

  it('takes a catch-all route only when a controller handles it, not when Nest middleware does', () => {
    const middleware = () => undefined;
    expect(routeTemplate({ route: { path: '/api{/*splat}', stack: [{ handle: middleware }] }, baseUrl: '' } as unknown as Request)).toBe('unmatched');
    const controller = () => undefined;
    Reflect.defineMetadata('method', 0, controller);
    expect(routeTemplate({ route: { path: '/files/{*path}', stack: [{ handle: controller }] }, baseUrl: '' } as unknown as Request)).toBe('/files/{*path}');
  });
});

describe('sameSecret', () => {
  it('compares whatever the lengths', () => {
    expect(sameSecret('s3cret-token-0123456789', 's3cret-token-0123456789')).toBe(true);
    expect(sameSecret('s3cret', 's3cret-token-0123456789')).toBe(false);
    expect(sameSecret('', 'x')).toBe(false);
  });
});

describe('ProviderRegistry measured by Metrics', () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'x'.repeat(40),
    ENCRYPTION_KEY: 'c'.repeat(64),
    OLLAMA_ENABLED: 'false',
    DEMO_PROVIDER_ENABLED: 'true',
    DEMO_TOKEN_DELAY_MS: '0',
    PROVIDER_MAX_RETRIES: '0',
  });
  const request: CompletionRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

  /** A registry whose `fake` provider streams `chunks`, then throws `error` if given. */
  function setup(chunks: StreamChunk[], error?: unknown) {
    const metrics = new Metrics();
    const registry = new ProviderRegistry(config, metrics);
    const returned = jest.fn();
    const fake = {
      kind: 'openai',
      name: 'fake',
      stream: (_request: CompletionRequest, signal: AbortSignal) => ({
        [Symbol.asyncIterator]: () => {
          let i = 0;
          return {
            next: async () => {
              signal.throwIfAborted();
              if (i < chunks.length) return { done: false, value: chunks[i++] };
              if (error) throw error;
              return { done: true, value: undefined };
            },
            return: async () => {
              returned();
              return { done: true, value: undefined };
            },
          };
        },
      }),
      // No non-streaming call of its own: the stream, gathered.
      complete: ModelProvider.prototype.complete,
    } as unknown as ModelProvider;
    (registry as unknown as { providers: Map<string, ModelProvider> }).providers.set('fake', fake);
    return { metrics, registry, returned };
  }
  const text = (t: string): StreamChunk => ({ type: 'text', text: t });
  const done: StreamChunk = { type: 'done', finishReason: 'stop', usage: { inputTokens: 7, outputTokens: 3 } };

  it('passes the chunks through and records first token, tokens and an ok duration', async () => {
    const { metrics, registry } = setup([text('a'), text('b'), done]);
    const seen: StreamChunk[] = [];
    for await (const chunk of registry.stream('fake', request, new AbortController().signal)) seen.push(chunk);
    expect(seen).toEqual([text('a'), text('b'), done]);
    expect(await value(metrics, 'parley_time_to_first_token_seconds', { provider: 'fake' })).toBe(1);
    expect(await value(metrics, 'parley_tokens_total', { provider: 'fake', direction: 'out' })).toBe(3);
    expect(await value(metrics, 'parley_provider_request_duration_seconds', { provider: 'fake', outcome: 'ok' })).toBe(1);
  });

  it('measures complete() once, as ok', async () => {
    const { metrics, registry } = setup([text('a'), done]);
    await expect(registry.complete('fake', request, new AbortController().signal)).resolves.toMatchObject({ text: 'a' });
    expect(await value(metrics, 'parley_provider_request_duration_seconds', { provider: 'fake', outcome: 'ok' })).toBe(1);
    expect(await value(metrics, 'parley_tokens_total', { provider: 'fake', direction: 'in' })).toBe(7);
  });

  it('lets the error through unchanged and records it as an error', async () => {
    const failure = new AppException(ErrorCode.PROVIDER_ERROR, 'upstream broke', HttpStatus.BAD_GATEWAY);
    const { metrics, registry } = setup([text('a')], failure);
    const consume = async () => {
      for await (const _ of registry.stream('fake', request, new AbortController().signal)) void _;
    };
    await expect(consume()).rejects.toBe(failure);
    expect(await value(metrics, 'parley_provider_request_duration_seconds', { provider: 'fake', outcome: 'error' })).toBe(1);
  });

  it.each([1, 2])('still calls the provider iterator’s return() when the reader stops after %i chunk(s), recorded as cancelled', async (read) => {
    const { metrics, registry, returned } = setup([text('a'), text('b'), done]);
    let n = 0;
    for await (const _ of registry.stream('fake', request, new AbortController().signal)) {
      void _;
      if (++n === read) break;
    }
    expect(returned).toHaveBeenCalledTimes(1);
    expect(await value(metrics, 'parley_provider_request_duration_seconds', { provider: 'fake', outcome: 'cancelled' })).toBe(1);
  });

  it('records an abort by the caller as cancelled, the abort error passing through', async () => {
    const { metrics, registry } = setup([text('a'), text('b'), done]);
    const abort = new AbortController();
    const reason = new Error('stop');
    const consume = async () => {
      for await (const _ of registry.stream('fake', request, abort.signal)) abort.abort(reason);
    };
    await expect(consume()).rejects.toBe(reason);
    expect(await value(metrics, 'parley_provider_request_duration_seconds', { provider: 'fake', outcome: 'cancelled' })).toBe(1);
  });

  it('measures the demo provider', async () => {
    const { metrics, registry } = setup([]);
    for await (const _ of registry.stream('demo', request, new AbortController().signal)) void _;
    expect(await value(metrics, 'parley_time_to_first_token_seconds', { provider: 'demo' })).toBe(1);
    expect((await value(metrics, 'parley_tokens_total', { provider: 'demo', direction: 'out' })) ?? 0).toBeGreaterThan(0);
  });
});
