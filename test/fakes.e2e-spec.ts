import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import { Ollama } from 'ollama';
import { FakeAnthropic, FakeGemini, FakeOllama, FakeOpenAI } from './fakes';

const TOKENS = ['Hello', ',', ' world', '!'];
const LONG = { tokens: Array.from({ length: 50 }, (_, i) => `t${i} `), delayMs: 20 };

/** Runs an async iterable to its end or its error, mapping each item. */
async function drain<T, R>(iter: AsyncIterable<T>, map: (item: T) => R | undefined, onItem?: (n: number) => void) {
  const items: R[] = [];
  let error: any;
  try {
    for await (const item of iter) {
      const value = map(item);
      if (value !== undefined) items.push(value);
      onItem?.(items.length);
    }
  } catch (e) {
    error = e;
  }
  return { items, error };
}

async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('fake upstreams against the real SDKs', () => {
  describe('OpenAI', () => {
    const fake = new FakeOpenAI();
    const client = (maxRetries = 0) => new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries });
    const params = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };
    beforeAll(() => fake.start());
    afterAll(() => fake.stop());
    beforeEach(() => fake.reset());

    it('answers a non-streaming completion with usage', async () => {
      const res = await client().chat.completions.create(params);
      expect(res.choices[0].message.content).toBe('Hello, world!');
      expect(res.choices[0].finish_reason).toBe('stop');
      expect(res.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 });
      expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: params });
      expect(fake.requests[0].headers.authorization).toBe('Bearer sk-test');
    });

    it('streams the tokens in order, then usage when asked for', async () => {
      const stream = await client().chat.completions.create({
        ...params,
        stream: true,
        stream_options: { include_usage: true },
      });
      let usage: OpenAI.CompletionUsage | null | undefined;
      let finish: string | null | undefined;
      const { items, error } = await drain(stream, (c) => {
        usage ??= c.usage;
        finish ??= c.choices[0]?.finish_reason;
        return c.choices[0]?.delta.content ?? undefined;
      });
      expect(error).toBeUndefined();
      expect(items).toEqual(TOKENS);
      expect(finish).toBe('stop');
      expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 4 });
    });

    it('surfaces 429 as RateLimitError with retry-after', async () => {
      fake.script({ failWith: { status: 429, retryAfter: 7 } });
      const err = await rejection(client().chat.completions.create(params));
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.status).toBe(429);
      expect(err.headers.get('retry-after')).toBe('7');
      expect(err.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    });

    it('fails once with 500, then a retrying client succeeds', async () => {
      fake.script({ failWith: { status: 500, times: 1, retryAfter: 0.01 } });
      const res = await client(2).chat.completions.create(params);
      expect(res.choices[0].message.content).toBe('Hello, world!');
      expect(fake.requests).toHaveLength(2);
    });

    it('cutAfter 2 makes the stream throw after two tokens', async () => {
      fake.script({ cutAfter: 2 });
      const { items, error } = await drain(await client().chat.completions.create({ ...params, stream: true }), (c) =>
        c.choices[0]?.delta.content ?? undefined,
      );
      expect(items).toEqual(['Hello', ',']);
      expect(error).toBeDefined();
      expect(fake.aborted).toBe(0);
    });

    it('sees the client abort mid-stream', async () => {
      fake.script(LONG);
      const ac = new AbortController();
      const stream = await client().chat.completions.create({ ...params, stream: true }, { signal: ac.signal });
      const { items } = await drain(stream, (c) => c.choices[0]?.delta.content ?? undefined, (n) => n === 2 && ac.abort());
      expect(items.length).toBeLessThan(LONG.tokens.length);
      await fake.waitForAbort(2000);
      expect(fake.aborted).toBe(1);
    });

    it('lists models', async () => {
      fake.script({ models: ['m-1', 'm-2'] });
      const page = await client().models.list();
      expect(page.data.map((m) => m.id)).toEqual(['m-1', 'm-2']);
    });
  });

  describe('Anthropic', () => {
    const fake = new FakeAnthropic();
    const client = (maxRetries = 0) => new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries });
    const params = { model: 'claude-sonnet-5-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'hi' }] };
    beforeAll(() => fake.start());
    afterAll(() => fake.stop());
    beforeEach(() => fake.reset());

    it('answers a non-streaming message with usage', async () => {
      const msg = await client().messages.create(params);
      expect(msg.content).toEqual([{ type: 'text', text: 'Hello, world!' }]);
      expect(msg.stop_reason).toBe('end_turn');
      expect(msg.usage).toMatchObject({ input_tokens: 12, output_tokens: 4 });
      expect(fake.requests[0]).toMatchObject({ method: 'POST', path: '/v1/messages', body: params });
    });

    it('streams the tokens in order with usage (raw events and the stream helper)', async () => {
      const events = await client().messages.create({ ...params, stream: true });
      const types: string[] = [];
      let input = 0;
      let output = 0;
      const { items, error } = await drain(events, (e) => {
        types.push(e.type);
        if (e.type === 'message_start') input = e.message.usage.input_tokens;
        if (e.type === 'message_delta') output = e.usage.output_tokens;
        return e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : undefined;
      });
      expect(error).toBeUndefined();
      expect(items).toEqual(TOKENS);
      expect([input, output]).toEqual([12, 4]);
      expect(types[0]).toBe('message_start');
      expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);

      const final = await client().messages.stream(params).finalMessage();
      expect(final.content).toEqual([{ type: 'text', text: 'Hello, world!' }]);
      expect(final.usage).toMatchObject({ input_tokens: 12, output_tokens: 4 });
    });

    it('surfaces 429 as RateLimitError', async () => {
      fake.script({ failWith: { status: 429, retryAfter: 3, message: 'slow down' } });
      const err = await rejection(client().messages.create(params));
      expect(err).toBeInstanceOf(Anthropic.RateLimitError);
      expect(err.status).toBe(429);
      expect(err.error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
      expect(err.headers.get('retry-after')).toBe('3');
    });

    it('fails once with 500, then a retrying client succeeds', async () => {
      fake.script({ failWith: { status: 500, times: 1, retryAfter: 0.01 } });
      const msg = await client(2).messages.create(params);
      expect(msg.content[0]).toMatchObject({ text: 'Hello, world!' });
      expect(fake.requests).toHaveLength(2);
    });

    it('cutAfter 2 makes the stream throw after two tokens', async () => {
      fake.script({ cutAfter: 2 });
      const { items, error } = await drain(await client().messages.create({ ...params, stream: true }), (e) =>
        e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : undefined,
      );
      expect(items).toEqual(['Hello', ',']);
      expect(error).toBeDefined();
    });

    it('sees the client abort mid-stream', async () => {
      fake.script(LONG);
      const ac = new AbortController();
      const events = await client().messages.create({ ...params, stream: true }, { signal: ac.signal });
      await drain(events, (e) => (e.type === 'content_block_delta' ? 1 : undefined), (n) => n === 2 && ac.abort());
      await fake.waitForAbort(2000);
      expect(fake.aborted).toBe(1);
    });

    it('lists models', async () => {
      const page = await client().models.list();
      expect(page.data.map((m) => m.id)).toEqual(['claude-sonnet-5-5', 'claude-haiku-5-5']);
      expect(page.data[0]).toMatchObject({ type: 'model', display_name: 'claude sonnet 5 5' });
    });
  });

  describe('Gemini', () => {
    const fake = new FakeGemini();
    const client = (attempts?: number) =>
      new GoogleGenAI({
        apiKey: 'g-test',
        httpOptions: { baseUrl: fake.url, ...(attempts ? { retryOptions: { attempts, initialDelay: 0.01 } } : {}) },
      });
    const params = { model: 'gemini-2.5-flash', contents: 'hi' };
    beforeAll(() => fake.start());
    afterAll(() => fake.stop());
    beforeEach(() => fake.reset());

    it('answers generateContent with usage', async () => {
      const res = await client().models.generateContent(params);
      expect(res.text).toBe('Hello, world!');
      expect(res.candidates?.[0].finishReason).toBe('STOP');
      expect(res.usageMetadata).toMatchObject({ promptTokenCount: 12, candidatesTokenCount: 4, totalTokenCount: 16 });
      expect(fake.requests[0].path).toBe('/v1/models/gemini-2.5-flash:generateContent');
      expect(fake.requests[0].headers['x-goog-api-key']).toBe('g-test');
    });

    it('streams the tokens in order, usage on the last chunk', async () => {
      let last: any;
      const { items, error } = await drain(await client().models.generateContentStream(params), (c) => {
        last = c;
        return c.text;
      });
      expect(error).toBeUndefined();
      expect(items).toEqual(TOKENS);
      expect(last.candidates[0].finishReason).toBe('STOP');
      expect(last.usageMetadata).toMatchObject({ promptTokenCount: 12, candidatesTokenCount: 4 });
      expect(fake.requests[0].path).toBe('/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    });

    it('also serves /v1beta', async () => {
      const ai = new GoogleGenAI({ apiKey: 'g', httpOptions: { baseUrl: fake.url, apiVersion: 'v1beta' } });
      expect((await ai.models.generateContent(params)).text).toBe('Hello, world!');
      expect(fake.requests[0].path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    });

    it('surfaces 429 as ApiError', async () => {
      fake.script({ failWith: { status: 429 } });
      const err = await rejection(client().models.generateContent(params));
      expect(err).toBeInstanceOf(ApiError);
      expect(err.status).toBe(429);
      expect(JSON.parse(err.message)).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
    });

    it('fails once with 500, then a retrying client succeeds', async () => {
      fake.script({ failWith: { status: 500, times: 1 } });
      expect((await client(3).models.generateContent(params)).text).toBe('Hello, world!');
      expect(fake.requests).toHaveLength(2);
    });

    it('cutAfter 2 makes the stream throw after two tokens', async () => {
      fake.script({ cutAfter: 2 });
      const { items, error } = await drain(await client().models.generateContentStream(params), (c) => c.text);
      expect(items).toEqual(['Hello', ',']);
      expect(error).toBeDefined();
    });

    it('sees the client abort mid-stream', async () => {
      fake.script(LONG);
      const ac = new AbortController();
      const stream = await client().models.generateContentStream({ ...params, config: { abortSignal: ac.signal } });
      const { items } = await drain(stream, (c) => c.text, (n) => n === 2 && ac.abort());
      expect(items.length).toBeLessThan(LONG.tokens.length);
      await fake.waitForAbort(2000);
    });

    it('lists models', async () => {
      const pager = await client().models.list();
      expect(pager.page.map((m) => m.name)).toEqual(['models/gemini-2.5-flash', 'models/gemini-2.5-pro']);
      expect(pager.page[0]).toMatchObject({ inputTokenLimit: 1048576, outputTokenLimit: 65536 });
    });
  });

  describe('Ollama', () => {
    const fake = new FakeOllama();
    const client = () => new Ollama({ host: fake.url });
    const params = { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] };
    beforeAll(() => fake.start());
    afterAll(() => fake.stop());
    beforeEach(() => fake.reset());

    it('answers a non-streaming chat with counts', async () => {
      const res = await client().chat(params);
      expect(res.message).toEqual({ role: 'assistant', content: 'Hello, world!' });
      expect(res).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 4 });
      expect(fake.requests[0]).toMatchObject({ path: '/api/chat', body: { ...params, stream: false } });
    });

    it('streams the tokens in order, counts on the final object', async () => {
      let last: any;
      const { items, error } = await drain(await client().chat({ ...params, stream: true }), (c) => {
        last = c;
        return c.done ? undefined : c.message.content;
      });
      expect(error).toBeUndefined();
      expect(items).toEqual(TOKENS);
      expect(last).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 4 });
    });

    it('surfaces 429 as ResponseError', async () => {
      fake.script({ failWith: { status: 429, message: 'too many' } });
      const err = await rejection(client().chat(params));
      expect(err.name).toBe('ResponseError');
      expect(err.status_code).toBe(429);
      expect(err.message).toBe('too many');
    });

    it('fails once with 500, then a retry succeeds', async () => {
      fake.script({ failWith: { status: 500, times: 1 } });
      const ollama = client();
      const retrying = async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await ollama.chat(params);
          } catch (e: any) {
            if (attempt >= 2 || e.status_code < 500) throw e;
          }
        }
      };
      expect((await retrying()).message.content).toBe('Hello, world!');
      expect(fake.requests).toHaveLength(2);
    });

    it('cutAfter 2 makes the stream throw after two tokens', async () => {
      fake.script({ cutAfter: 2 });
      const { items, error } = await drain(await client().chat({ ...params, stream: true }), (c) => c.message.content);
      expect(items).toEqual(['Hello', ',']);
      expect(error).toBeDefined();
    });

    it('sees the client abort mid-stream', async () => {
      fake.script(LONG);
      const stream = await client().chat({ ...params, stream: true });
      const { items } = await drain(stream, (c) => c.message.content, (n) => n === 2 && stream.abort());
      expect(items.length).toBeLessThan(LONG.tokens.length);
      await fake.waitForAbort(2000);
    });

    it('pulls with progress, then tags and ps reflect pull and load', async () => {
      fake.script({ delayMs: 5 });
      const ollama = client();
      const progress = await drain(await ollama.pull({ model: 'qwen2.5:0.5b', stream: true }), (p) => p);
      expect(progress.error).toBeUndefined();
      const statuses = progress.items.map((p) => p.status);
      expect(statuses[0]).toBe('pulling manifest');
      expect(statuses.slice(-3)).toEqual(['verifying sha256 digest', 'writing manifest', 'success']);
      const layers = progress.items.filter((p) => p.digest);
      expect(layers.length).toBeGreaterThan(1);
      expect(layers.map((p) => p.completed)).toEqual([...layers.map((p) => p.completed)].sort((a, b) => a - b));
      expect(layers.at(-1)!.completed).toBe(layers[0].total);

      expect((await ollama.list()).models.map((m) => m.name)).toEqual(['llama3.2:latest', 'qwen2.5:0.5b']);
      expect((await ollama.ps()).models).toEqual([]);
      const load = await ollama.generate({ model: 'qwen2.5:0.5b', prompt: '' });
      expect(load).toMatchObject({ done: true, done_reason: 'load' });
      expect((await ollama.ps()).models.map((m) => m.name)).toEqual(['qwen2.5:0.5b']);
      expect(fake.loaded.has('qwen2.5:0.5b')).toBe(true);
    });

    it('fails pulls of unknown models and honours failWith on pull', async () => {
      fake.script({ pullable: ['llama3.2'] });
      const ollama = client();
      const unknown = await drain(await ollama.pull({ model: 'nope', stream: true }), (p) => p.status);
      expect(unknown.error?.message).toBe('pull model manifest: file does not exist');
      expect(fake.installed.has('nope:latest')).toBe(false);

      fake.script({ failWith: { status: 503, times: 1 } });
      const err = await rejection(ollama.pull({ model: 'llama3.2', stream: true }));
      expect(err.status_code).toBe(503);
      expect(await ollama.pull({ model: 'llama3.2' })).toEqual({ status: 'success' });
    });

    it('lists installed models and the version', async () => {
      fake.script({ models: ['a:1b', 'b'] });
      expect((await client().list()).models.map((m) => m.name)).toEqual(['a:1b', 'b:latest']);
      expect((await client().version()).version).toBe(fake.version);
    });
  });

  it('hang never answers; the client timeout is seen as an abort', async () => {
    const fake = new FakeOpenAI({ hang: true });
    await fake.start();
    try {
      const client = new OpenAI({ apiKey: 'k', baseURL: `${fake.url}/v1`, maxRetries: 0, timeout: 200 });
      const err = await rejection(client.models.list());
      // APIConnectionTimeoutError outside jest; under jest the AbortError comes from another realm
      // (not `instanceof Error`), so the SDK reports a plain APIConnectionError.
      expect(err).toBeInstanceOf(OpenAI.APIConnectionError);
      await fake.waitForAbort(1000);
      expect(fake.requests).toHaveLength(1);
    } finally {
      await fake.stop();
    }
  });
});
