import type { Response } from 'superagent';
import { ErrorCode } from '../src/common/errors/error-codes';
import { AppException } from '../src/common/errors/app.exception';
import { CompletionRequest, StreamChunk } from '../src/modules/models/model-provider';
import { ProviderRegistry } from '../src/modules/models/provider-registry';
import { FakeAnthropic, FakeGemini, FakeOllama, FakeOpenAI, FakeUpstream } from './fakes';
import { PrismaService } from '../src/infra/database/prisma.service';
import { createTestApp, DEFAULT_PASSWORD, login, registerUser, SignedIn, TestApp } from './support/test-app';
import { parseSse } from './support/sse';

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic();
const gemini = new FakeGemini();
const ollama = new FakeOllama({ models: ['llama3.2:1b', 'qwen3:0.6b'], pullable: ['gemma2:2b'], delayMs: 5 });
const fakes: FakeUpstream[] = [openai, anthropic, gemini, ollama];

/** Each provider instance of the registry, its fake and a model name the fake accepts. */
const PROVIDERS: Array<[name: string, fake: FakeUpstream, model: string]> = [
  ['openai', openai, 'gpt-4o-mini'],
  ['anthropic', anthropic, 'claude-sonnet-5-5'],
  ['google', gemini, 'gemini-2.5-flash'],
  ['ollama', ollama, 'llama3.2:1b'],
];

const request = (model: string, extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  model,
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Say hello' },
  ],
  temperature: 0.5,
  maxTokens: 100,
  apiKey: 'sk-test-key-1234',
  ...extra,
});

async function collect(stream: AsyncIterable<StreamChunk>): Promise<{ text: string[]; done?: StreamChunk; error?: unknown }> {
  const text: string[] = [];
  try {
    for await (const chunk of stream) {
      if (chunk.type === 'text') text.push(chunk.text);
      else return { text, done: chunk };
    }
    return { text };
  } catch (error) {
    return { text, error };
  }
}

/** supertest parser that keeps an event-stream body as text. */
function textBody(res: Response, done: (error: Error | null, body: string) => void): void {
  let body = '';
  res.on('data', (c: Buffer) => (body += c.toString()));
  res.on('end', () => done(null, body));
}

/** Reads a whole SSE response into its events. */
describe('Models (e2e)', () => {
  let t: TestApp;
  let registry: ProviderRegistry;
  let user: SignedIn;
  /** Loading models is for admins (MODEL_LOADS=admin, the default). */
  let admin: SignedIn;

  beforeAll(async () => {
    await Promise.all(fakes.map((f) => f.start()));
    t = await createTestApp({
      env: {
        OPENAI_BASE_URL: `${openai.url}/v1`,
        ANTHROPIC_BASE_URL: anthropic.url,
        GOOGLE_BASE_URL: gemini.url,
        OLLAMA_BASE_URL: ollama.url,
        PROVIDER_RETRY_BASE_MS: '5',
        PROVIDER_MAX_RETRIES: '2',
        PROVIDER_TIMEOUT_MS: '1000',
        RATE_LIMITS: 'register=1000,profile.apiKeys=1000,models.load=1000,models.status=1000',
      },
    });
    registry = t.app.get(ProviderRegistry);
    user = await registerUser(t);
    const promoted = await registerUser(t);
    await t.app.get(PrismaService).user.update({ where: { id: promoted.user.id }, data: { role: 'admin' } });
    admin = await login(t, promoted.user.username, DEFAULT_PASSWORD);
  });
  afterAll(async () => {
    await t.close();
    await Promise.all(fakes.map((f) => f.stop()));
  });
  beforeEach(() => fakes.forEach((f) => f.reset()));

  describe.each(PROVIDERS)('%s provider through its SDK', (name, fake, model) => {
    it('streams the text in order, then usage and finish reason', async () => {
      const { text, done, error } = await collect(registry.stream(name, request(model), new AbortController().signal));
      expect(error).toBeUndefined();
      expect(text.join('')).toBe(fake.tokens.join(''));
      expect(done).toEqual({ type: 'done', finishReason: 'stop', usage: { inputTokens: fake.usage.input, outputTokens: fake.usage.output } });
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('completes without streaming', async () => {
      const result = await registry.complete(name, request(model), new AbortController().signal);
      expect(result).toEqual({ text: 'Hello, world!', finishReason: 'stop', usage: { inputTokens: 12, outputTokens: 4 } });
    });

    it.each([
      [401, ErrorCode.PROVIDER_AUTH_FAILED, 422],
      [403, ErrorCode.PROVIDER_AUTH_FAILED, 422],
      [429, ErrorCode.PROVIDER_RATE_LIMITED, 429],
      [500, ErrorCode.PROVIDER_UNAVAILABLE, 502],
      [503, ErrorCode.PROVIDER_UNAVAILABLE, 502],
      [404, ErrorCode.MODEL_NOT_FOUND, 404],
    ] as const)('translates an upstream %i into %s', async (status, code, httpStatus) => {
      fake.script({ failWith: { status, retryAfter: 0.01, path: name === 'ollama' ? '/api/chat' : undefined } });
      const { text, error } = await collect(registry.stream(name, request(model), new AbortController().signal));
      expect(text).toEqual([]);
      expect(error).toBeInstanceOf(AppException);
      expect((error as AppException).code).toBe(code);
      expect((error as AppException).getStatus()).toBe(httpStatus);
      // Rate limits and server errors are retried (3 attempts in all); the rest are not.
      const attempts = fake.requests.filter((r) => r.method === 'POST').length;
      expect(attempts).toBe(status === 429 || status >= 500 ? 3 : 1);
    });

    it('translates a context-length refusal into CONTEXT_TOO_LONG', async () => {
      fake.script({ failWith: { status: 400, message: "This model's maximum context length is 8192 tokens", path: name === 'ollama' ? '/api/chat' : undefined } });
      const { error } = await collect(registry.stream(name, request(model), new AbortController().signal));
      expect((error as AppException).code).toBe(ErrorCode.CONTEXT_TOO_LONG);
    });

    it('times out when the upstream never answers', async () => {
      fake.script({ hang: true });
      const { error } = await collect(registry.stream(name, request(model), new AbortController().signal));
      expect((error as AppException).code).toBe(ErrorCode.PROVIDER_TIMEOUT);
    });

    it('retries before the first token and succeeds', async () => {
      fake.script({ failWith: { status: 500, times: 2 } });
      const { text, error } = await collect(registry.stream(name, request(model), new AbortController().signal));
      expect(error).toBeUndefined();
      expect(text.join('')).toBe('Hello, world!');
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
    });

    it('never retries once tokens have been produced', async () => {
      fake.script({ cutAfter: 2 });
      const { text, error } = await collect(registry.stream(name, request(model), new AbortController().signal));
      expect(text.join('')).toBe('Hello,');
      expect((error as AppException).code).toBe(ErrorCode.PROVIDER_UNAVAILABLE);
      expect(fake.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('cancels the upstream request when aborted', async () => {
      fake.script({ delayMs: 150, tokens: ['a', 'b', 'c', 'd', 'e', 'f'] });
      const controller = new AbortController();
      const seen: string[] = [];
      const run = (async () => {
        for await (const chunk of registry.stream(name, request(model), controller.signal)) {
          if (chunk.type === 'text') seen.push(chunk.text);
          if (seen.length === 1) controller.abort();
        }
      })();
      await expect(run).rejects.toThrow();
      await fake.waitForAbort(2000);
      expect(seen).toEqual(['a']);
    });
  });

  describe('request translation', () => {
    it('sends the system prompt the way each API expects it', async () => {
      for (const [name, fake, model] of PROVIDERS) await registry.complete(name, request(model), new AbortController().signal);
      const body = (fake: FakeUpstream) => fake.requests.find((r) => r.method === 'POST')!.body;
      expect(body(openai).messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
      // complete() is a non-streaming call upstream where the SDK has one (OpenAI-compatible servers).
      expect(body(openai)).toMatchObject({ stream: false });
      expect(body(openai).stream_options).toBeUndefined();
      expect(body(anthropic).system).toBe('Be brief.');
      expect(body(anthropic).messages).toEqual([{ role: 'user', content: 'Say hello' }]);
      expect(body(gemini).systemInstruction.parts[0].text).toBe('Be brief.');
      expect(body(ollama).options).toMatchObject({ temperature: 0.5, num_predict: 100 });
      expect(openai.requests[0].headers.authorization).toBe('Bearer sk-test-key-1234');
    });
  });

  describe('demo provider', () => {
    it('streams a deterministic answer offline', async () => {
      const once = await collect(registry.stream('demo', request('parley-demo', { maxTokens: undefined }), new AbortController().signal));
      const twice = await collect(registry.stream('demo', request('parley-demo', { maxTokens: undefined }), new AbortController().signal));
      expect(once.text.length).toBeGreaterThan(10);
      expect(once.text.join('')).toContain('offline demo model');
      expect(once.text.join('')).toContain('Say hello');
      expect(twice.text).toEqual(once.text);
      expect(once.done).toMatchObject({ finishReason: 'stop', usage: { outputTokens: once.text.length } });
    });
  });

  describe('GET /api/models', () => {
    it('lists the catalog with seed 001 fields and per-user availability', async () => {
      const alice = await registerUser(t);
      const before = await t.http().get('/api/models').set(alice.auth).expect(200);
      const byId = (res: { body: any }, id: string) => res.body.data.models.find((m: { id: string }) => m.id === id);
      expect(byId(before, 'claude-opus')).toMatchObject({
        name: expect.any(String),
        provider: 'anthropic',
        apiKeyRequired: 'claude',
        requiresLoading: false,
        capabilities: expect.arrayContaining(['text']),
        contextLength: 200000,
        pricing: { input: expect.any(Number), output: expect.any(Number) },
        temperatureRange: { min: 0, max: 1, step: 0.1, default: 0.7 },
        available: false,
      });
      expect(byId(before, 'gpt-5.5').available).toBe(false);
      expect(byId(before, 'parley-demo')).toMatchObject({ available: true, apiKeyRequired: null });
      expect(byId(before, 'parley-demo').name).toMatch(/demo/i);
      expect(byId(before, 'gemma-2b-local')).toMatchObject({ requiresLoading: true, pricing: null, available: true });
      // Installed Ollama models not in the catalog are discovered.
      expect(byId(before, 'ollama:qwen3:0.6b')).toMatchObject({ provider: 'ollama', requiresLoading: true, available: true });

      const keys = await t.http().post('/api/profile/api-keys').set(alice.auth).send({ openai: 'sk-alice-openai-key' }).expect(200);
      expect(keys.body.data).toMatchObject({ updated: ['openai'], verified: { openai: true } });
      const after = await t.http().get('/api/models').set(alice.auth).expect(200);
      expect(byId(after, 'gpt-5.5').available).toBe(true);
      expect(byId(after, 'claude-opus').available).toBe(false);

      // Another user without a key still sees it unavailable.
      const bob = await registerUser(t);
      expect(byId(await t.http().get('/api/models').set(bob.auth).expect(200), 'gpt-5.5').available).toBe(false);
    });

    it('verifies keys with a real call: a refused key is reported false with a reason', async () => {
      anthropic.script({ failWith: { status: 401 } });
      const res = await t.http().post('/api/profile/api-keys').set(user.auth).send({ claude: 'sk-ant-wrong-key' }).expect(200);
      expect(res.body.data.verified).toEqual({ claude: false });
      expect(res.body.data.reasons.claude).toMatch(/rejected/);
      expect(anthropic.requests[0].headers.authorization).toBe('Bearer sk-ant-wrong-key');
    });

    it('requires authentication', async () => {
      await t.http().get('/api/models').expect(401);
    });
  });

  describe('local model loading', () => {
    it('pulls and loads with SSE progress in order, joins a second request, then reports loaded', async () => {
      const status0 = await t.http().get('/api/models/gemma-2b-local/status').set(admin.auth).expect(200);
      expect(status0.body.data).toMatchObject({ modelId: 'gemma-2b-local', status: 'not_loaded' });

      const first = await t.http().post('/api/models/gemma-2b-local/load').set(admin.auth).expect(202);
      expect(first.body.data).toMatchObject({ modelId: 'gemma-2b-local', status: 'loading', jobId: expect.stringMatching(/^load_/) });
      const second = await t.http().post('/api/models/gemma-2b-local/load').set(admin.auth).expect(202);
      expect(second.body.data.jobId).toBe(first.body.data.jobId);

      const stream = await t
        .http()
        .get(`/api/models/gemma-2b-local/load/stream?jobId=${first.body.data.jobId}`)
        .set(admin.auth)
        .buffer(true)
        .parse(textBody)
        .expect(200)
        .expect('Content-Type', /text\/event-stream/)
        .expect('X-Accel-Buffering', 'no');
      const events = parseSse(stream.body as string);
      expect(events.at(-1)).toMatchObject({ event: 'loaded', data: { modelId: 'gemma-2b-local' } });
      const progress = events.filter((e) => e.event === 'progress').map((e) => e.data);
      expect(progress.length).toBeGreaterThanOrEqual(3);
      expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));
      expect(progress.some((p) => p.status === 'pulling')).toBe(true);
      expect(progress.at(-1)).toMatchObject({ status: 'loaded', progress: 100 });
      expect(events.map((e) => Number(e.id))).toEqual(events.map((_, i) => i));
      expect(ollama.installed.has('gemma2:2b')).toBe(true);
      expect(ollama.loaded.has('gemma2:2b')).toBe(true);
      expect(ollama.requests.filter((r) => r.path === '/api/pull')).toHaveLength(1);

      const status1 = await t.http().get('/api/models/gemma-2b-local/status').set(admin.auth).expect(200);
      expect(status1.body.data).toMatchObject({ status: 'loaded', loadProgress: 100, memoryUsage: expect.any(String), lastLoaded: expect.any(String) });
    });

    it('reports a failed pull as an SSE error event and status error', async () => {
      ollama.script({ pullable: [] });
      const started = await t.http().post('/api/models/gemma-2b-local/load').set(admin.auth).expect(202);
      const stream = await t
        .http()
        .get(`/api/models/gemma-2b-local/load/stream?jobId=${started.body.data.jobId}`)
        .set(admin.auth)
        .buffer(true)
        .parse(textBody)
        .expect(200);
      expect(parseSse(stream.body as string).at(-1)).toMatchObject({ event: 'error', data: { code: expect.any(String), message: expect.any(String) } });
      const status = await t.http().get('/api/models/gemma-2b-local/status').set(admin.auth).expect(200);
      expect(status.body.data).toMatchObject({ status: 'error', error: expect.any(String) });
    });

    it('refuses to load a remote model, an unknown model or an unknown job', async () => {
      expect((await t.http().post('/api/models/gpt-5.5/load').set(admin.auth).expect(422)).body.error.code).toBe('MODEL_NOT_LOADABLE');
      expect((await t.http().post('/api/models/nope-model/load').set(admin.auth).expect(404)).body.error.code).toBe('MODEL_NOT_FOUND');
      await t.http().get('/api/models/gemma-2b-local/load/stream?jobId=load_unknown').set(admin.auth).expect(404);
      expect((await t.http().get('/api/models/gemma-2b-local/load/stream').set(admin.auth).expect(400)).body.error.code).toBe('VALIDATION_ERROR');
    });

    it('reports remote models by availability', async () => {
      const res = await t.http().get('/api/models/parley-demo/status').set(user.auth).expect(200);
      expect(res.body.data.status).toBe('loaded');
      const noKey = await t.http().get('/api/models/gemini-2.5-pro/status').set(user.auth).expect(200);
      expect(noKey.body.data.status).toBe('unavailable');
    });
  });
});
