import OpenAI from 'openai';
import { PrismaService } from '../src/infra/database/prisma.service';
import { FakeAnthropic, FakeGemini, FakeOllama, FakeOpenAI, FakeUpstream } from './fakes';
import { createApiToken, gatewayUrl, openaiClient, openaiClientWithNewToken, rejection, upstreamEnv, useFakeUpstreams } from './support/gateway-clients';
import { createTestApp, expectError, registerUser, SignedIn, TestApp } from './support/test-app';
import { UsageService } from '../src/modules/usage/usage.service';

/**
 * The /v1 gateway driven by the official `openai` SDK exactly as a program would use it
 * (only baseURL and apiKey changed), over fake OpenAI, Anthropic and Gemini upstreams.
 */

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic();
const gemini = new FakeGemini();
const ollama = new FakeOllama({ models: ['llama3.2:1b'] });
useFakeUpstreams(openai, anthropic, gemini, ollama);

/** A catalog model per upstream, and the provider's own name for it. */
const MODELS: Array<[id: string, fake: FakeUpstream, providerModel: string]> = [
  ['gpt-5.4-mini', openai, 'gpt-5.4-mini'],
  ['claude-sonnet', anthropic, 'claude-sonnet-5-5'],
  ['gemini-flash', gemini, 'gemini-3.8-flash'],
  ['llama-3.2-1b-local', ollama, 'llama3.2:1b'],
];

/** Every provider on its fake; no retries, so an upstream failure reaches the client at once. */
const gatewayEnv = () => ({ ...upstreamEnv({ openai, anthropic, gemini, ollama }), PROVIDER_MAX_RETRIES: '0' });

async function usageOf(t: TestApp, who: SignedIn) {
  return (await t.http().get('/api/usage').set(who.auth).expect(200)).body.data;
}

describe('Gateway /v1 (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let alice: SignedIn;
  let client: OpenAI;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: {
        ...gatewayEnv(),
        LLM_BANNED_TERMS: 'forbidden,secret plan',
        LLM_MAX_PROMPT_CHARS: '2000',
        LLM_CACHE_ENABLED: 'true',
        RATE_LIMITS: 'register=1000,profile.tokens=1000,gateway=25,llm=1000,threads.create=1000,messages.send=1000',
        // A token per test for one user: more than the default cap of 20 active tokens.
        API_TOKENS_MAX_PER_USER: '1000',
      },
    });
    prisma = t.app.get(PrismaService);
    alice = await registerUser(t);
  });
  afterAll(() => t.close());
  // A token per test: each test gets the whole per-token rate limit.
  beforeEach(async () => {
    client = await openaiClientWithNewToken(t, alice);
  });

  describe('completions over every provider', () => {
    it.each(MODELS)('%s: non-streaming answer with the exact text and usage', async (model, fake) => {
      const completion = await client.chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Say hello' },
        ],
        max_tokens: 50,
      });
      expect(completion).toEqual({
        id: expect.stringMatching(/^chatcmpl-/),
        object: 'chat.completion',
        created: expect.any(Number),
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello, world!', refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
      });
      expect(fake.requests).toHaveLength(1);
    });

    it.each(MODELS)('%s: streaming chunks, include_usage and [DONE]', async (model) => {
      openai.script({ tokens: ['Event', '-driven', ' is', ' great'] });
      anthropic.script({ tokens: ['Event', '-driven', ' is', ' great'] });
      gemini.script({ tokens: ['Event', '-driven', ' is', ' great'] });
      ollama.script({ tokens: ['Event', '-driven', ' is', ' great'] });
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Why events?' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('Event-driven is great');
      expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
      expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === model)).toBe(true);
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean)).toEqual(['stop']);
      // include_usage: usage null on every chunk but the last, which has no choices.
      expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 } });
    });

    it('ends the raw stream with data: [DONE] and sends no usage chunk unless asked', async () => {
      const token = (await createApiToken(t, alice)).token;
      const res = await fetch(`${gatewayUrl(t)}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      expect(res.headers.get('x-accel-buffering')).toBe('no');
      const frames = (await res.text()).split('\n\n').filter(Boolean);
      expect(frames.at(-1)).toBe('data: [DONE]');
      const chunks = frames.slice(0, -1).map((f) => JSON.parse(f.replace(/^data: /, '')));
      expect(chunks.every((c) => !('usage' in c))).toBe(true);
      expect(chunks.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    });

    it('maps parameters to each provider and drops the ones it cannot take', async () => {
      const common = {
        messages: [
          { role: 'developer' as const, content: 'Answer in French.' },
          { role: 'user' as const, content: [{ type: 'text' as const, text: 'Say ' }, { type: 'text' as const, text: 'hello' }] },
        ],
        temperature: 0.3,
        top_p: 0.9,
        max_completion_tokens: 64,
        stop: ['END'],
        // Not mapped anywhere: dropped, not refused.
        frequency_penalty: 0.5,
        seed: 7,
        user: 'program-user-1',
      };
      await client.chat.completions.create({ model: 'gpt-5.4-mini', ...common });
      await client.chat.completions.create({ model: 'claude-sonnet', ...common });
      await client.chat.completions.create({ model: 'gemini-flash', ...common });
      await client.chat.completions.create({ model: 'llama-3.2-1b-local', ...common });

      expect(openai.requests[0].body).toMatchObject({
        model: 'gpt-5.4-mini',
        messages: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'Say hello' },
        ],
        temperature: 0.3,
        top_p: 0.9,
        max_completion_tokens: 64,
        stop: ['END'],
      });
      expect(openai.requests[0].body).not.toHaveProperty('frequency_penalty');
      expect(openai.requests[0].body).not.toHaveProperty('seed');

      const claude = anthropic.requests[0].body;
      expect(claude).toMatchObject({
        model: 'claude-sonnet-5-5',
        system: 'Answer in French.',
        messages: [{ role: 'user', content: 'Say hello' }],
        max_tokens: 64,
        stop_sequences: ['END'],
      });
      expect(claude).not.toHaveProperty('temperature');
      expect(claude).not.toHaveProperty('top_p');

      expect(gemini.requests[0].path).toContain('gemini-3.8-flash');
      expect(gemini.requests[0].body).toMatchObject({
        contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }],
        systemInstruction: { parts: [{ text: 'Answer in French.' }] },
        generationConfig: { temperature: 0.3, topP: 0.9, maxOutputTokens: 64, stopSequences: ['END'] },
      });

      const chat = ollama.requests.find((r) => r.path === '/api/chat')!.body;
      expect(chat).toMatchObject({
        model: 'llama3.2:1b',
        messages: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'Say hello' },
        ],
        options: { temperature: 0.3, top_p: 0.9, num_predict: 64, stop: ['END'] },
      });
    });

    it('treats null parameters as not set, as OpenAI does', async () => {
      const completion = await client.chat.completions.create({
        model: 'gpt-5.4-mini',
        messages: [{ role: 'user', content: 'hi', name: null } as never],
        temperature: null,
        top_p: null,
        max_tokens: null,
        stop: null,
        n: null,
        stream: null,
        stream_options: null,
        tools: null,
      } as never);
      expect((completion as OpenAI.Chat.ChatCompletion).choices[0].message.content).toBe('Hello, world!');
      expect(openai.requests[0].body).not.toHaveProperty('temperature');
      expect(openai.requests[0].body).not.toHaveProperty('stop');
    });

    it("accepts the provider's own model name as well as the catalog id", async () => {
      const completion = await client.chat.completions.create({ model: 'claude-sonnet-5-5', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.choices[0].message.content).toBe('Hello, world!');
      expect(anthropic.requests[0].body.model).toBe('claude-sonnet-5-5');
    });
  });

  describe('models', () => {
    it('lists the models this token can use, in OpenAI form', async () => {
      const ids: string[] = [];
      for await (const model of client.models.list()) {
        expect(model).toEqual({ id: expect.any(String), object: 'model', created: expect.any(Number), owned_by: expect.any(String) });
        ids.push(model.id);
      }
      expect(ids).toEqual(expect.arrayContaining(['parley-demo', 'gpt-5.5', 'gpt-5.4-mini', 'claude-sonnet', 'gemini-flash', 'llama-3.2-1b-local']));
      expect(await client.models.retrieve('claude-sonnet')).toEqual({ id: 'claude-sonnet', object: 'model', created: expect.any(Number), owned_by: 'anthropic' });
      expect(await rejection(client.models.retrieve('gpt-0-imaginary'))).toBeInstanceOf(OpenAI.NotFoundError);
    });
  });

  describe('errors as the SDK typed errors', () => {
    it('401 AuthenticationError for a wrong, a revoked or a session token', async () => {
      const wrong = await rejection(openaiClient(t, 'pk_not-a-real-token').chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }] }));
      expect(wrong).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(wrong.status).toBe(401);
      expect(wrong.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key', message: expect.any(String) });

      const { token, id } = await createApiToken(t, alice);
      const revocable = openaiClient(t, token);
      await revocable.models.list();
      await t.http().delete(`/api/profile/tokens/${id}`).set(alice.auth).expect(200);
      const revoked = await rejection(revocable.models.list());
      expect(revoked).toBeInstanceOf(OpenAI.AuthenticationError);

      // A browser session is not a program's credential.
      const session = await rejection(openaiClient(t, alice.accessToken).models.list());
      expect(session).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(session.message).toMatch(/personal API token/);
      expect(openai.requests).toHaveLength(0);
    });

    it('404 NotFoundError for a model that is not in the catalog', async () => {
      const error = await rejection(client.chat.completions.create({ model: 'gpt-0-imaginary', messages: [{ role: 'user', content: 'hi' }] }));
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
    });

    it('429 RateLimitError when the upstream rate limits, streaming or not', async () => {
      openai.script({ failWith: { status: 429, retryAfter: 7 } });
      const plain = await rejection(client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }] }));
      expect(plain).toBeInstanceOf(OpenAI.RateLimitError);
      expect(plain.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
      const streamed = await rejection(client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], stream: true }));
      expect(streamed).toBeInstanceOf(OpenAI.RateLimitError);
    });

    it('429 RateLimitError with Retry-After once a token passes its own limit (25/min here), other tokens unaffected', async () => {
      const limited = await openaiClientWithNewToken(t, alice);
      for (let i = 0; i < 25; i++) await limited.models.list();
      const error = await rejection(limited.models.list());
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect(Number(error.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(error.headers.get('x-ratelimit-limit')).toBe('25');
      await (await openaiClientWithNewToken(t, alice)).models.list();
    });

    it('400 BadRequestError naming the parameter for invalid requests; n>1 is refused', async () => {
      const cases: Array<[object, string]> = [
        [{ model: 'gpt-5.4-mini', messages: [] }, 'messages'],
        [{ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 3 }, 'temperature'],
        [{ model: 'gpt-5.4-mini', messages: [{ role: 'robot', content: 'x' }] }, 'messages.0.role'],
        [{ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x' } }] }] }, 'messages.0.content'],
        [{ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], n: 2 }, 'n'],
        [{ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'not a name' } }] }, 'tools.0.function.name'],
        [{ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      ];
      for (const [body, param] of cases) {
        const error = await rejection(client.chat.completions.create(body as never));
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(error.error).toMatchObject({ type: 'invalid_request_error', param, code: 'validation_error' });
      }
      expect(openai.requests).toHaveLength(0);
    });

    it('answers malformed JSON and unknown /v1 routes in OpenAI format too', async () => {
      const { token } = await createApiToken(t, alice);
      const bad = await t.http().post('/v1/chat/completions').set('authorization', `Bearer ${token}`).set('content-type', 'application/json').send('{"model":');
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ error: { message: 'Malformed JSON in request body', type: 'invalid_request_error', param: null, code: 'validation_error' } });
      const missing = await t.http().get('/v1/embeddings').set('authorization', `Bearer ${token}`);
      expect(missing.status).toBe(404);
      expect(missing.body.error).toMatchObject({ type: 'invalid_request_error' });
    });

    it('a failure after the first token ends the stream with an error the SDK raises', async () => {
      openai.script({ tokens: ['one', ' two', ' three', ' four'], cutAfter: 2 });
      const stream = await client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'count' }], stream: true });
      let text = '';
      const error = await rejection(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        })(),
      );
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(error.error).toMatchObject({ code: 'provider_unavailable' });
      expect(text).toBe('one two');
    });
  });

  describe('abort', () => {
    it('a client that aborts a stream aborts the upstream call, recorded as cancelled', async () => {
      const me = await registerUser(t);
      const mine = await openaiClientWithNewToken(t, me);
      openai.script({ tokens: Array.from({ length: 50 }, (_, i) => `t${i} `), delayMs: 50 });
      const controller = new AbortController();
      const stream = await mine.chat.completions.create(
        { model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'long answer' }], stream: true },
        { signal: controller.signal },
      );
      const seen: string[] = [];
      await rejection(
        (async () => {
          for await (const chunk of stream) {
            if (chunk.choices[0]?.delta?.content) seen.push(chunk.choices[0].delta.content);
            if (seen.length === 2) controller.abort();
          }
          throw new Error('stream ended normally');
        })(),
      ).catch(() => undefined);
      await openai.waitForAbort(3000);
      expect(seen).toEqual(['t0 ', 't1 ']);
      const rows = await waitFor(() => prisma.usageRecord.findMany({ where: { userId: me.user.id } }), (r) => r.length > 0);
      expect(rows).toEqual([expect.objectContaining({ source: 'gateway', status: 'cancelled', modelId: 'gpt-5.4-mini' })]);
    });

    it('a client that gives up on a non-streaming request aborts the upstream call', async () => {
      openai.script({ hang: true });
      const controller = new AbortController();
      const pending = rejection(client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }] }, { signal: controller.signal }));
      await waitFor(async () => openai.requests.length, (n) => n === 1);
      controller.abort();
      expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
      await openai.waitForAbort(3000);
      // A client leaving is not a server error.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(t.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
    });
  });

  describe('usage', () => {
    it('records tokens and cost per call for the caller, beside chat usage', async () => {
      const me = await registerUser(t);
      const mine = await openaiClientWithNewToken(t, me);
      await mine.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'private words 4711' }] });
      await mine.chat.completions.create({ model: 'claude-sonnet', messages: [{ role: 'user', content: 'hi' }], stream: true }).then(async (s) => {
        for await (const _ of s) void _;
      });
      const usage = await usageOf(t, me);
      expect(usage.byModel).toEqual([
        { source: 'gateway', modelId: 'claude-sonnet', requests: 1, promptTokens: 12, completionTokens: 4, cachedPromptTokens: 0, reasoningTokens: 0, cost: (12 * 0.003 + 4 * 0.015) / 1000 },
        { source: 'gateway', modelId: 'gpt-5.4-mini', requests: 1, promptTokens: 12, completionTokens: 4, cachedPromptTokens: 0, reasoningTokens: 0, cost: (12 * 0.00025 + 4 * 0.002) / 1000 },
      ]);
      expect(usage.totals).toMatchObject({ requests: 2, promptTokens: 24, completionTokens: 8 });
      // Admins see any user's usage; users only their own.
      const admin = await registerUser(t);
      await prisma.user.update({ where: { id: admin.user.id }, data: { role: 'admin' } });
      const viaAdmin = await t.http().get(`/api/admin/users/${me.user.id}/usage`).set(admin.auth).expect(200);
      expect(viaAdmin.body.data).toEqual({ ...usage, since: expect.any(String) });
      expectError(await t.http().get(`/api/admin/users/${me.user.id}/usage`).set(me.auth), 403, 'FORBIDDEN');
      const rows = await prisma.usageRecord.findMany({ where: { userId: me.user.id } });
      expect(rows.every((r) => r.apiTokenId && r.status === 'complete' && r.latencyMs >= 0)).toBe(true);
      // Each call is logged on its request's line with its sizes and outcome, never its text.
      expect(t.logs).toContainEqual(
        expect.objectContaining({
          msg: 'request:end',
          modelCall: expect.objectContaining({ source: 'gateway', model: 'gpt-5.4-mini', promptChars: 18, status: 'complete', usage: { input: 12, output: 4 } }),
        }),
      );
      expect(JSON.stringify(t.logs)).not.toContain('private words 4711');
    });
  });

  describe('usage details', () => {
    it('records the cached prompt and reasoning tokens the provider reports, streamed or not', async () => {
      const me = await registerUser(t);
      const mine = await openaiClientWithNewToken(t, me);
      openai.script({ usage: { input: 20, output: 6 }, usageDetails: { cached: 16, reasoning: 2 } });
      await mine.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'cache me' }] });
      const stream = await mine.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'cache me again' }], stream: true });
      for await (const _ of stream) void _;
      openai.script({ usageDetails: undefined });
      await mine.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'no details' }] });
      await t.app.get(UsageService).flush();
      const rows = await prisma.usageRecord.findMany({ where: { userId: me.user.id }, orderBy: { createdAt: 'asc' } });
      expect(rows.map((r) => [r.promptTokens, r.completionTokens, r.cachedPromptTokens, r.reasoningTokens])).toEqual([
        [20, 6, 16, 2],
        [20, 6, 16, 2],
        [20, 6, null, null],
      ]);
      const usage = await usageOf(t, me);
      expect(usage.byModel).toEqual([expect.objectContaining({ modelId: 'gpt-5.4-mini', requests: 3, cachedPromptTokens: 32, reasoningTokens: 4 })]);
      expect(usage.totals).toMatchObject({ requests: 3, promptTokens: 60, cachedPromptTokens: 32, reasoningTokens: 4 });
    });
  });

  describe('transcripts off (PERSIST_TRANSCRIPTS=false, the default)', () => {
    it('conversation endpoints answer 501 and a completion naming a conversation writes nothing', async () => {
      const me = await registerUser(t);
      const { token } = await createApiToken(t, me);
      const create = await t.http().post('/v1/conversations').set('authorization', `Bearer ${token}`).send({ title: 'x' });
      expect(create.status).toBe(501);
      expect(create.body).toEqual({ error: { message: expect.stringMatching(/PERSIST_TRANSCRIPTS/), type: 'invalid_request_error', param: null, code: 'not_implemented' } });
      const get = await t.http().get('/v1/conversations/8e2d1c7a-1111-4222-8333-944455556666').set('authorization', `Bearer ${token}`);
      expect(get.status).toBe(501);

      const completion = await openaiClient(t, token).chat.completions.create({
        model: 'gpt-5.4-mini',
        messages: [{ role: 'user', content: 'hi' }],
        conversation_id: '8e2d1c7a-1111-4222-8333-944455556666',
      } as never);
      expect((completion as OpenAI.Chat.ChatCompletion).choices[0].message.content).toBe('Hello, world!');
      expect(await prisma.thread.count({ where: { userId: me.user.id } })).toBe(0);
    });
  });

  describe('moderation', () => {
    it('refuses banned terms with 422 on /v1, /api/llm and chat alike, before any provider call', async () => {
      const error = await rejection(client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'Tell me the Secret  Plan' }] }));
      expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError);
      expect(error.error).toMatchObject({ code: 'content_policy_violation', type: 'invalid_request_error' });

      expectError(await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: 'something FORBIDDEN here', model: 'gpt-5.4-mini' }), 422, 'CONTENT_REJECTED');
      expectError(await t.http().get('/api/llm/stream').query({ prompt: 'forbidden', model: 'gpt-5.4-mini' }).set(alice.auth), 422, 'CONTENT_REJECTED');

      const thread = (await t.http().post('/api/threads').set(alice.auth).send({ title: 'T' }).expect(201)).body.data.thread.id;
      const chat = await t.http().post(`/api/threads/${thread}/models/gpt-5.4-mini/messages`).set(alice.auth).send({ content: 'a forbidden word' });
      expectError(chat, 422, 'CONTENT_REJECTED');
      expect(chat.body.error.details).toEqual({ reason: 'banned_term' });
      // Nothing was stored for the refused chat message.
      expect(await prisma.message.count({ where: { threadId: thread } })).toBe(0);
      expect(openai.requests).toHaveLength(0);
    });

    it('refuses prompts longer than LLM_MAX_PROMPT_CHARS', async () => {
      const res = await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: 'x'.repeat(2001), model: 'gpt-5.4-mini' });
      expectError(res, 422, 'CONTENT_REJECTED');
      expect(res.body.error.details).toEqual({ reason: 'too_long', length: 2001, limit: 2000 });
      const long = await rejection(
        client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'x'.repeat(1500) }, { role: 'user', content: 'y'.repeat(600) }] }),
      );
      expect(long).toBeInstanceOf(OpenAI.UnprocessableEntityError);
      expect(openai.requests).toHaveLength(0);
    });
  });

  describe('/api/llm (seed 003)', () => {
    it('completes a prompt with system prompt and parameters, in the envelope', async () => {
      const res = await t
        .http()
        .post('/api/llm/complete')
        .set(alice.auth)
        .send({ prompt: 'Say hello', system: 'Be brief.', model: 'claude-sonnet', maxTokens: 30, temperature: 0.2, useCache: false })
        .expect(200);
      expect(res.body.data).toEqual({
        content: 'Hello, world!',
        model: 'claude-sonnet',
        created: expect.any(Number),
        usage: { promptTokens: 12, completionTokens: 4, totalTokens: 16 },
        cached: false,
      });
      expect(anthropic.requests[0].body).toMatchObject({ system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 30 });
    });

    it('uses the first model of `provider` when no model is named, and refuses a mismatch', async () => {
      const res = await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: 'hi', provider: 'google', useCache: false }).expect(200);
      expect(res.body.data.model).toBe('gemini-2.5-pro');
      expectError(await t.http().post('/api/llm/complete').set(alice.auth).send({ prompt: 'hi', provider: 'google', model: 'gpt-5.4-mini' }), 400, 'VALIDATION_ERROR');
    });

    it('serves a repeated identical request from the cache without calling the upstream', async () => {
      const me = await registerUser(t);
      const body = { prompt: 'What is SSE?', model: 'gpt-5.4-mini', temperature: 0.5 };
      const first = await t.http().post('/api/llm/complete').set(me.auth).send(body).expect(200);
      const second = await t.http().post('/api/llm/complete').set(me.auth).send(body).expect(200);
      expect(first.body.data.cached).toBe(false);
      expect(second.body.data).toEqual({ ...first.body.data, created: expect.any(Number), cached: true });
      expect(openai.requests).toHaveLength(1);

      // Any other parameter, another user, or useCache: false reaches the upstream.
      await t.http().post('/api/llm/complete').set(me.auth).send({ ...body, temperature: 0.6 }).expect(200);
      await t.http().post('/api/llm/complete').set(alice.auth).send(body).expect(200);
      await t.http().post('/api/llm/complete').set(me.auth).send({ ...body, useCache: false }).expect(200);
      expect(openai.requests).toHaveLength(4);

      await t.app.get(UsageService).flush();
      const rows = await prisma.usageRecord.findMany({ where: { userId: me.user.id }, orderBy: { createdAt: 'asc' } });
      expect(rows.map((r) => [r.source, r.cached, Number(r.cost) > 0])).toEqual([
        ['llm', false, true],
        ['llm', true, false],
        ['llm', false, true],
        ['llm', false, true],
      ]);
    });

    it('streams {delta} frames and a final {done, content}', async () => {
      openai.script({ tokens: ['Server', '-sent', ' events'] });
      const res = await t
        .http()
        .get('/api/llm/stream')
        .query({ prompt: 'Explain SSE', model: 'gpt-5.4-mini', temperature: '0.4', maxTokens: '20' })
        .set(alice.auth)
        .buffer(true)
        .parse((r, done) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c));
          r.on('end', () => done(null, text));
        })
        .expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      const frames = (res.body as string)
        .split('\n\n')
        .filter((f) => f.startsWith('data: '))
        .map((f) => JSON.parse(f.slice(6)));
      expect(frames).toEqual([{ delta: 'Server' }, { delta: '-sent' }, { delta: ' events' }, { done: true, content: 'Server-sent events' }]);
      expect(openai.requests[0].body).toMatchObject({ temperature: 0.4, max_completion_tokens: 20 });
    });

    it('answers a failure before the first token as a plain error, and requires sign-in', async () => {
      openai.script({ failWith: { status: 401 } });
      expectError(await t.http().get('/api/llm/stream').query({ prompt: 'hi', model: 'gpt-5.4-mini' }).set(alice.auth), 422, 'PROVIDER_AUTH_FAILED');
      expectError(await t.http().post('/api/llm/complete').send({ prompt: 'hi' }), 401, 'UNAUTHORIZED');
      expectError(await t.http().get('/api/llm/stream').query({ prompt: 'hi', temperature: 'hot' }).set(alice.auth), 400, 'VALIDATION_ERROR');
    });
  });
});

describe('Gateway transcripts on (PERSIST_TRANSCRIPTS=true)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let alice: SignedIn;
  let client: OpenAI;
  let token: string;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: { ...gatewayEnv(), PERSIST_TRANSCRIPTS: 'true', RATE_LIMITS: 'register=1000,profile.tokens=1000' },
    });
    prisma = t.app.get(PrismaService);
    alice = await registerUser(t);
    token = (await createApiToken(t, alice)).token;
    client = openaiClient(t, token);
  });
  afterAll(() => t.close());

  const createConversation = async (title?: string) => {
    const res = await t.http().post('/v1/conversations').set('authorization', `Bearer ${token}`).send(title ? { title } : {}).expect(201);
    return res.body as { id: string; object: string; title: string; created_at: number; updated_at: number; message_count: number };
  };

  it('creates and reads conversations', async () => {
    const created = await createConversation('Batch job');
    expect(created).toEqual({ id: expect.any(String), object: 'conversation', title: 'Batch job', created_at: expect.any(Number), updated_at: expect.any(Number), message_count: 0 });
    const read = await t.http().get(`/v1/conversations/${created.id}`).set('authorization', `Bearer ${token}`).expect(200);
    expect(read.body).toEqual(created);
  });

  it('stores the last user message and the final answer once, streaming or not', async () => {
    const { id } = await createConversation();
    await client.chat.completions.create({
      model: 'gpt-5.4-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'earlier answer' },
        { role: 'user', content: 'second question' },
      ],
      conversation_id: id,
    } as never);
    openai.script({ tokens: ['Streamed', ' reply'] });
    const stream = await client.chat.completions.create(
      { model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'third question' }], stream: true },
      { headers: { 'X-Conversation-Id': id } },
    );
    for await (const _ of stream) void _;

    const rows = await prisma.message.findMany({ where: { threadId: id }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => [r.role, r.status, r.content, r.modelId])).toEqual([
      ['user', 'complete', 'second question', 'gpt-5.4-mini'],
      ['assistant', 'complete', 'Hello, world!', 'gpt-5.4-mini'],
      ['user', 'complete', 'third question', 'gpt-5.4-mini'],
      ['assistant', 'complete', 'Streamed reply', 'gpt-5.4-mini'],
    ]);
    expect(rows[1]).toMatchObject({ promptTokens: 12, completionTokens: 4, finishReason: 'stop' });
    const read = await t.http().get(`/v1/conversations/${id}`).set('authorization', `Bearer ${token}`).expect(200);
    expect(read.body.message_count).toBe(4);
    // The transcript is an ordinary thread of the user's.
    const listed = await t.http().get(`/api/threads/${id}/models/gpt-5.4-mini/messages`).set(alice.auth).expect(200);
    expect(listed.body.data.messages).toHaveLength(4);
  });

  it('stores an error row with the partial text when the answer fails mid-stream', async () => {
    const { id } = await createConversation();
    openai.script({ tokens: ['par', 'tial', ' never'], cutAfter: 2 });
    const stream = await client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'q' }], stream: true, conversation_id: id } as never);
    await rejection(
      (async () => {
        for await (const _ of stream as unknown as AsyncIterable<unknown>) void _;
      })(),
    );
    const rows = await prisma.message.findMany({ where: { threadId: id }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => [r.role, r.status, r.content, r.errorCode])).toEqual([
      ['user', 'complete', 'q', null],
      ['assistant', 'error', 'partial', 'PROVIDER_UNAVAILABLE'],
    ]);
  });

  it("refuses another user's conversation with 404 and writes nothing", async () => {
    const { id } = await createConversation();
    const bob = await registerUser(t);
    const bobClient = await openaiClientWithNewToken(t, bob);
    const error = await rejection(bobClient.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], conversation_id: id } as never));
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(error.message).toMatch(/Conversation not found/);
    const read = await t.http().get(`/v1/conversations/${id}`).set('authorization', `Bearer ${(await createApiToken(t, bob)).token}`);
    expect(read.status).toBe(404);
    expect(await prisma.message.count({ where: { threadId: id } })).toBe(0);
    expect(openai.requests).toHaveLength(0);
  });
});

/** Polls until `done(value)`; for rows written just after a response ends. */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}
