import { AddressInfo } from 'node:net';
import request from 'supertest';
import { sse } from './support/sse';
import { createTestApp, expectError, registerUser, SignedIn, TestApp } from './support/test-app';

/** parse-prometheus-text-format ships no types: what it returns, as far as these tests read it. */
interface MetricFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Array<{ labels?: Record<string, string>; value?: string; count?: string; sum?: string; buckets?: Record<string, string> }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parsePrometheusTextFormat = require('parse-prometheus-text-format') as (text: string) => MetricFamily[];

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const TOKEN = 'metrics-token-0123456789abcdef';

/**
 * Every line is a comment of the two kinds Prometheus knows or a sample `name{labels} value`.
 * Prometheus reads values with Go's ParseFloat, which ignores case in NaN: prom-client writes `Nan`
 * for the event-loop lag mean when two scrapes come within one sampling interval.
 */
const SAMPLE_LINE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]Inf)( -?\d+)?$/;
const COMMENT_LINE = /^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped))$/;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

interface Scraped {
  /** What parse-prometheus-text-format makes of it (it merges the label sets of a histogram: read `samples` for those). */
  families: MetricFamily[];
  /** Every sample line, as written (histograms as their `_bucket`, `_sum` and `_count` series). */
  samples: Sample[];
}

const unescape = (value: string) => value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** Parses the exposition strictly: a line-format check, then the real parser (which throws on a malformed line). */
function parse(text: string): Scraped {
  const lines = text.split('\n').filter((line) => line !== '');
  expect(lines.filter((line) => !SAMPLE_LINE.test(line) && !COMMENT_LINE.test(line))).toEqual([]);
  expect(text.endsWith('\n')).toBe(true);
  const families = parsePrometheusTextFormat(text);
  const samples = lines
    .filter((line) => !line.startsWith('#'))
    .map((line) => {
      const [, name, labelText = '', value] = /^([^{ ]+)(?:\{(.*)\})? (\S+)/.exec(line)!;
      const labels = Object.fromEntries([...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, unescape(v)]));
      return { name, labels, value: Number(value) };
    });
  // Every sample belongs to a family the parser found, with its TYPE.
  const typed = new Set(families.filter((f) => f.type !== 'UNTYPED').map((f) => f.name));
  expect(samples.filter((s) => !typed.has(s.name) && !typed.has(s.name.replace(/_(bucket|sum|count)$/, ''))).map((s) => s.name)).toEqual([]);
  return { families, samples };
}

function family(scraped: Scraped, name: string): MetricFamily {
  const found = scraped.families.find((f) => f.name === name);
  if (!found) throw new Error(`${name} is not in /metrics`);
  return found;
}

/** The sum of the series named `name` (a histogram's `…_count` for its count) having these labels; 0 when none. */
function sample(scraped: Scraped, name: string, labels: Record<string, string> = {}): number {
  return scraped.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** The label values of every series of `name`. */
function labelValues(scraped: Scraped, name: string, label: string): string[] {
  return scraped.samples.filter((s) => s.name === name).map((s) => s.labels[label] ?? '');
}

describe('Metrics (e2e)', () => {
  let t: TestApp;
  let alice: SignedIn;
  /** /metrics, unmatched routes and 429s are not in openapi.json: asked without the response validator. */
  const raw = () => request(t.app.getHttpServer());
  const scrape = async () => {
    const res = await raw().get('/metrics').expect(200);
    return { res, scraped: parse(res.text) };
  };

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: { RATE_LIMITS: 'register=1000,threads.create=1000,messages.send=1000,version=1' },
    });
    alice = await registerUser(t);
  });
  afterAll(() => t.close());

  it('serves Prometheus text at /metrics, outside the /api prefix, without a session', async () => {
    const { res, scraped } = await scrape();
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    for (const name of [
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
      'parley_process_cpu_user_seconds_total',
      'parley_nodejs_eventloop_lag_seconds',
    ]) {
      expect(res.text).toContain(`# TYPE ${name} `);
    }
    expect(family(scraped, 'parley_http_request_duration_seconds').type).toBe('HISTOGRAM');
    expect(family(scraped, 'parley_http_requests_total').type).toBe('COUNTER');
    await raw().get('/api/metrics').expect(404);
  });

  it('reports the database as up and, without REDIS_URL, no Redis', async () => {
    const { scraped } = await scrape();
    expect(sample(scraped, 'parley_database_up')).toBe(1);
    expect(scraped.families.find((f) => f.name === 'parley_redis_up')).toBeUndefined();
  });

  it('counts requests by route template and status, 404s as "unmatched", never by raw URL', async () => {
    await t.http().get('/api/health/live').expect(200);
    await raw().get('/api/no-such-route/0b7c1e2f-secret-looking-id').expect(404);
    await raw().get('/v1/no-such-route/0b7c1e2f-secret-looking-id').expect(404);
    await t.http().get('/api/version').expect(401);
    const { scraped } = await scrape();
    expect(sample(scraped, 'parley_http_requests_total', { method: 'GET', route: '/api/health/live', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(scraped, 'parley_http_request_duration_seconds_count', { method: 'GET', route: '/api/health/live', status: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(scraped, 'parley_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(2);
    // A guard's refusal still has its route.
    expect(sample(scraped, 'parley_http_requests_total', { method: 'GET', route: '/api/version', status: '401' })).toBeGreaterThanOrEqual(1);
    const routes = labelValues(scraped, 'parley_http_requests_total', 'route');
    expect(routes.filter((r) => r.includes('no-such-route') || r.includes('*'))).toEqual([]);
  });

  it('is never rate limited', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await raw().get('/metrics').expect(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('counts 429s by limit name', async () => {
    await raw().get('/api/version').set(alice.auth).expect(200);
    await raw().get('/api/version').set(alice.auth).expect(429);
    const { scraped } = await scrape();
    expect(sample(scraped, 'parley_rate_limit_rejections_total', { limit: 'version' })).toBeGreaterThanOrEqual(1);
    expect(sample(scraped, 'parley_http_requests_total', { route: '/api/version', status: '429' })).toBeGreaterThanOrEqual(1);
  });

  it('is not in the OpenAPI document', async () => {
    const res = await t.http().get('/api/openapi.json').expect(200);
    expect(Object.keys(res.body.paths).filter((p) => p.includes('metrics'))).toEqual([]);
  });

  it('measures a chat answer of the demo provider: first token, tokens, duration, and the SSE request by template', async () => {
    const threadId = (await t.http().post('/api/threads').set(alice.auth).send({ title: 'Metrics' }).expect(201)).body.data.thread.id as string;
    await t.http().post(`/api/threads/${threadId}/models/parley-demo/messages`).set(alice.auth).send({ content: 'Hello metrics' }).expect(200);
    const port = (t.app.getHttpServer().address() as AddressInfo).port;
    const streamed = await sse(port, 'POST', `/api/threads/${threadId}/models/parley-demo/messages`, alice.auth, { content: 'And streamed?', stream: true });
    expect(streamed.status).toBe(200);

    const { scraped } = await scrape();
    expect(sample(scraped, 'parley_time_to_first_token_seconds_count', { provider: 'demo' })).toBeGreaterThanOrEqual(2);
    expect(sample(scraped, 'parley_tokens_total', { provider: 'demo', direction: 'out' })).toBeGreaterThan(0);
    expect(sample(scraped, 'parley_tokens_total', { provider: 'demo', direction: 'in' })).toBeGreaterThan(0);
    expect(sample(scraped, 'parley_provider_request_duration_seconds_count', { provider: 'demo', outcome: 'ok' })).toBeGreaterThanOrEqual(2);
    const messagesRoute = '/api/threads/:threadId/models/:modelId/messages';
    expect(sample(scraped, 'parley_http_requests_total', { method: 'POST', route: messagesRoute, status: '200' })).toBeGreaterThanOrEqual(2);
    const routes = labelValues(scraped, 'parley_http_requests_total', 'route');
    expect(routes.filter((r) => r.includes(threadId))).toEqual([]);
    // Nothing is streaming any more (the server may count the close a moment after the client saw the end).
    let open = sample(scraped, 'parley_sse_connections');
    for (let i = 0; open !== 0 && i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      open = sample((await scrape()).scraped, 'parley_sse_connections');
    }
    expect(open).toBe(0);
  });
});

describe('Metrics with METRICS_TOKEN (e2e)', () => {
  let t: TestApp;
  const raw = () => request(t.app.getHttpServer());

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(() => t.close());

  it('refuses a scrape without the token, with the error envelope', async () => {
    const res = await raw().get('/metrics').expect(401);
    expectError(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.text).not.toContain('parley_');
  });

  it('refuses a wrong token, or the right one in another scheme', async () => {
    expectError(await raw().get('/metrics').set('Authorization', `Bearer ${TOKEN}x`).expect(401), 401, 'UNAUTHORIZED');
    expectError(await raw().get('/metrics').set('Authorization', 'Bearer short').expect(401), 401, 'UNAUTHORIZED');
    expectError(await raw().get('/metrics').set('Authorization', `Basic ${TOKEN}`).expect(401), 401, 'UNAUTHORIZED');
  });

  it('serves the metrics with the token', async () => {
    const res = await raw().get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(res.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
    const scraped = parse(res.text);
    // The refused scrapes were counted too, under their route.
    expect(sample(scraped, 'parley_http_requests_total', { method: 'GET', route: '/metrics', status: '401' })).toBeGreaterThanOrEqual(4);
  });
});
