import { ChatOpenAI } from '@langchain/openai';
import OpenAI from 'openai';
import { z } from 'zod';
import { PrismaService } from '../src/infra/database/prisma.service';
import { FakeOllama, FakeOpenAI, FakeUpstream } from './fakes';
import { createApiToken, gatewayUrl, openaiClient, rejection, upstreamEnv, useFakeUpstreams } from './support/gateway-clients';
import { createTestApp, registerUser, SignedIn, TestApp } from './support/test-app';
import { CALLS, CITY_SCHEMA, TOOL_ROUND_TRIP, WEATHER } from './support/tool-fixtures';

/**
 * Tools (function calling) and structured output on /v1/chat/completions, driven by the
 * official `openai` SDK (and LangChain's ChatOpenAI) against fake OpenAI and Ollama
 * upstreams: what the client gets back, and what reaches each upstream in its own format.
 */

const openai = new FakeOpenAI();
const ollama = new FakeOllama({ models: ['llama3.2:1b'] });
useFakeUpstreams(openai, ollama);

const TIME: OpenAI.Chat.ChatCompletionFunctionTool = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } };

/** Each tool-capable upstream: a catalog model on it. Ollama sends calls without ids (the gateway makes them up). */
const TOOL_MODELS: Array<[model: string, fake: FakeOpenAI | FakeOllama, keepsIds: boolean]> = [
  ['gpt-5.4-mini', openai, true],
  ['llama-3.2-1b-local', ollama, false],
];

/** The calls as the client sees them; Ollama's arguments are re-serialised, so compared as JSON. */
function expectCalls(calls: OpenAI.Chat.ChatCompletionMessageToolCall[] | undefined, keepsIds: boolean): void {
  expect(calls?.map((c) => (c.type === 'function' ? { id: c.id, type: c.type, name: c.function.name, args: JSON.parse(c.function.arguments) } : c))).toEqual(
    CALLS.map((c) => ({ id: keepsIds ? c.id : expect.stringMatching(/^call_/), type: 'function', name: c.name, args: JSON.parse(c.arguments) })),
  );
  expect(new Set(calls?.map((c) => c.id)).size).toBe(calls?.length);
}

/** The body of the chat request that reached an upstream. */
const upstreamChat = (fake: FakeUpstream) => fake.requests.find((r) => /\/(api\/)?chat(\/completions)?$/.test(r.path))!.body;

describe('Gateway tools and structured output (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let alice: SignedIn;
  let token: string;
  let client: OpenAI;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: {
        ...upstreamEnv({ openai, ollama }),
        PROVIDER_MAX_RETRIES: '0',
        PERSIST_TRANSCRIPTS: 'true',
        RATE_LIMITS: 'register=1000,profile.tokens=1000,gateway=1000',
      },
    });
    prisma = t.app.get(PrismaService);
    alice = await registerUser(t);
    token = (await createApiToken(t, alice)).token;
    client = openaiClient(t, token);
  });
  afterAll(() => t.close());

  describe.each(TOOL_MODELS)('%s', (model, fake, keepsIds) => {
    it('non-streaming: tool_calls, content null, finish_reason tool_calls; the tools reach the upstream in its format', async () => {
      fake.script({ tokens: [], toolCalls: CALLS });
      const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }], tools: [WEATHER, TIME] });
      const choice = completion.choices[0];
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      expectCalls(choice.message.tool_calls, keepsIds);

      const body = upstreamChat(fake);
      if (fake === openai) {
        expect(body.tools).toEqual([WEATHER, TIME]);
        expect(body).not.toHaveProperty('tool_choice');
        expect(body.stream).toBeFalsy();
      } else {
        expect(body.tools).toEqual([
          { type: 'function', function: WEATHER.function },
          { type: 'function', function: TIME.function },
        ]);
      }
    });

    it('streaming: OpenAI-style tool-call deltas the SDK assembles into the same calls', async () => {
      fake.script({ tokens: ['Let me check.'], toolCalls: CALLS });
      const runner = client.chat.completions.stream({ model, messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }], tools: [WEATHER], stream_options: { include_usage: true } });
      const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
      for await (const chunk of runner) chunks.push(chunk);
      const final = await runner.finalChatCompletion();
      expect(final.choices[0].finish_reason).toBe('tool_calls');
      expect(final.choices[0].message.content).toBe('Let me check.');
      expectCalls(final.choices[0].message.tool_calls, keepsIds);

      // Each call: a first delta with index, id, type, name and empty arguments, then argument pieces only.
      const deltas = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
      for (const index of [0, 1]) {
        const [head, ...rest] = deltas.filter((d) => d.index === index);
        expect(head).toEqual({ index, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '' } });
        expect(rest.length).toBeGreaterThanOrEqual(1);
        for (const piece of rest) expect(piece).toEqual({ index, function: { arguments: expect.any(String) } });
      }
      if (fake === openai) expect(deltas.filter((d) => d.index === 0).length).toBeGreaterThanOrEqual(3); // arguments in 2–3 pieces
      expect(chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean)).toEqual(['tool_calls']);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 12 } });
    });

    it('the tool-result round trip reaches the upstream in its own format', async () => {
      fake.script({ tokens: ['18°C in Paris'] });
      const completion = await client.chat.completions.create({
        model,
        messages: TOOL_ROUND_TRIP,
        tools: [WEATHER],
      });
      expect(completion.choices[0]).toMatchObject({ message: { content: '18°C in Paris' }, finish_reason: 'stop' });
      const { messages } = upstreamChat(fake);
      if (fake === openai) {
        expect(messages).toEqual([
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_paris1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'call_paris1', content: '18°C, sunny' },
        ]);
      } else {
        expect(messages).toEqual([
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
          { role: 'tool', content: '18°C, sunny', tool_name: 'get_weather' },
        ]);
      }
    });

    it('legacy functions / function_call: answered with function_call, as OpenAI did', async () => {
      fake.script({ tokens: [], toolCalls: CALLS.slice(0, 1) });
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
        functions: [WEATHER.function],
        function_call: fake === openai ? { name: 'get_weather' } : 'auto',
      });
      expect(completion.choices[0]).toMatchObject({ finish_reason: 'function_call', message: { content: null, function_call: { name: 'get_weather' } } });
      expect(JSON.parse(completion.choices[0].message.function_call!.arguments)).toEqual({ city: 'Paris' });
      expect(completion.choices[0].message).not.toHaveProperty('tool_calls');
      const body = upstreamChat(fake);
      if (fake === openai) {
        expect(body).toMatchObject({ tools: [{ type: 'function', function: WEATHER.function }], tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false });
        expect(body).not.toHaveProperty('functions');
      } else {
        expect(body.tools).toEqual([{ type: 'function', function: WEATHER.function }]);
      }
    });

    it('response_format json_schema and json_object reach the upstream in its format', async () => {
      fake.script({ tokens: ['{"city":', '"Paris",', '"celsius":18}'] });
      const structured = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Weather in Paris as JSON' }],
        response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: CITY_SCHEMA, strict: true } },
      });
      expect(JSON.parse(structured.choices[0].message.content!)).toEqual({ city: 'Paris', celsius: 18 });
      const jsonMode = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'JSON please' }], response_format: { type: 'json_object' } });
      expect(JSON.parse(jsonMode.choices[0].message.content!)).toEqual({ city: 'Paris', celsius: 18 });

      const [first, second] = fake.requests.filter((r) => r.method === 'POST').map((r) => r.body);
      if (fake === openai) {
        expect(first.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'weather', schema: CITY_SCHEMA, strict: true } });
        expect(second.response_format).toEqual({ type: 'json_object' });
      } else {
        expect(first.format).toEqual(CITY_SCHEMA);
        expect(second.format).toBe('json');
      }
    });
  });

  describe('tool_choice', () => {
    it('OpenAI: named, required, none and parallel_tool_calls are passed through', async () => {
      for (const [choice, parallel] of [
        [{ type: 'function', function: { name: 'get_time' } }, false],
        ['required', undefined],
        ['none', true],
      ] as const) {
        openai.reset().script({ tokens: [], toolCalls: [{ id: 'call_t', name: 'get_time', arguments: '{}' }] });
        await client.chat.completions.create({
          model: 'gpt-5.4-mini',
          messages: [{ role: 'user', content: 'Time?' }],
          tools: [WEATHER, TIME],
          tool_choice: choice,
          ...(parallel !== undefined ? { parallel_tool_calls: parallel } : {}),
        });
        const body = upstreamChat(openai);
        expect(body.tool_choice).toEqual(choice);
        if (parallel === undefined) expect(body).not.toHaveProperty('parallel_tool_calls');
        else expect(body.parallel_tool_calls).toBe(parallel);
      }
    });

    it('Ollama: auto and none are honoured (none offers no tools); required and a named tool are refused with param tool_choice', async () => {
      await client.chat.completions.create({ model: 'llama-3.2-1b-local', messages: [{ role: 'user', content: 'hi' }], tools: [WEATHER], tool_choice: 'none' });
      expect(upstreamChat(ollama)).not.toHaveProperty('tools');
      ollama.reset();
      await client.chat.completions.create({ model: 'llama-3.2-1b-local', messages: [{ role: 'user', content: 'hi' }], tools: [WEATHER], tool_choice: 'auto' });
      expect(upstreamChat(ollama).tools).toHaveLength(1);
      ollama.reset();

      for (const tool_choice of ['required', { type: 'function', function: { name: 'get_weather' } }] as const) {
        for (const stream of [false, true]) {
          const error = await rejection(client.chat.completions.create({ model: 'llama-3.2-1b-local', messages: [{ role: 'user', content: 'hi' }], tools: [WEATHER], tool_choice, stream }));
          expect(error).toBeInstanceOf(OpenAI.BadRequestError);
          expect(error.param).toBe('tool_choice');
          expect(error.error).toMatchObject({ type: 'invalid_request_error', code: 'validation_error' });
        }
      }
      expect(ollama.requests.filter((r) => r.path === '/api/chat')).toHaveLength(0);
    });
  });

  describe('refusals', () => {
    it('the demo provider has no tools or response formats: 400 naming the parameter', async () => {
      const tools = await rejection(client.chat.completions.create({ model: 'parley-demo', messages: [{ role: 'user', content: 'hi' }], tools: [WEATHER] }));
      expect(tools).toBeInstanceOf(OpenAI.BadRequestError);
      expect(tools.param).toBe('tools');
      const format = await rejection(client.chat.completions.create({ model: 'parley-demo', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'json_object' }, stream: true }));
      expect(format).toBeInstanceOf(OpenAI.BadRequestError);
      expect(format.param).toBe('response_format');
      // Plain text is no special format: the demo answers.
      const text = await client.chat.completions.create({ model: 'parley-demo', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'text' } });
      expect(text.choices[0].message.content).toEqual(expect.any(String));
    });

    it('400 BadRequestError naming the parameter for invalid tools, tool_choice, tool messages and images', async () => {
      const user = [{ role: 'user', content: 'hi' }];
      const cases: Array<[object, string]> = [
        [{ messages: user, tools: [{ type: 'function', function: { name: 'get weather!' } }] }, 'tools.0.function.name'],
        [{ messages: user, tools: [{ type: 'function', function: { name: 'x'.repeat(65) } }] }, 'tools.0.function.name'],
        [{ messages: user, tools: [{ type: 'retrieval', function: { name: 'f' } }] }, 'tools.0.type'],
        [{ messages: user, tools: Array.from({ length: 129 }, (_, i) => ({ type: 'function', function: { name: `f${i}` } })) }, 'tools'],
        [{ messages: user, tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'get_time' } } }, 'tool_choice'],
        [{ messages: user, tool_choice: 'required' }, 'tool_choice'],
        [{ messages: user, tools: [WEATHER], tool_choice: 'sometimes' }, 'tool_choice'],
        [{ messages: user, functions: [WEATHER.function], function_call: { name: 'get_time' } }, 'function_call'],
        [{ messages: user, tools: [WEATHER], functions: [TIME.function] }, 'functions'],
        [{ messages: user, response_format: { type: 'json_schema' } }, 'response_format.json_schema'],
        [{ messages: user, response_format: { type: 'json_schema', json_schema: { name: 'bad name', schema: {} } } }, 'response_format.json_schema.name'],
        [{ messages: user, response_format: { type: 'yaml' } }, 'response_format.type'],
        [{ messages: [...user, { role: 'tool', content: '18°C' }] }, 'messages.1.tool_call_id'],
        [{ messages: [...user, { role: 'assistant', content: null }] }, 'messages.1.content'],
        [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://example.com/cat.png' } }] }] }, 'messages.0.content'],
        [{ messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] }, 'messages.0.content'],
      ];
      for (const [body, param] of cases) {
        const error = await rejection(client.chat.completions.create({ model: 'gpt-5.4-mini', ...body } as never));
        expect({ param, error: error instanceof OpenAI.BadRequestError ? error.error : error }).toEqual({
          param,
          error: expect.objectContaining({ type: 'invalid_request_error', param, code: 'validation_error' }),
        });
      }
      expect(openai.requests).toHaveLength(0);
    });
  });

  describe('images and usage details', () => {
    const image = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==';

    it('a data: URL image reaches a vision model as an image_url part; a model without vision refuses with param messages', async () => {
      await client.chat.completions.create({
        model: 'gpt-5.5',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: image, detail: 'low' } }] }],
      });
      expect(upstreamChat(openai).messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: image } }] },
      ]);
      const error = await rejection(
        client.chat.completions.create({ model: 'llama-3.2-1b-local', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image } }] }] }),
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.param).toBe('messages');
    });

    it('fetches image URLs from public addresses only: one pointing at this machine is refused with param messages, unfetched', async () => {
      for (const url of [`${openai.url}/cat.png`, 'http://169.254.169.254/latest/meta-data/', 'data:image/png;base64,PGh0bWw+PC9odG1sPg==']) {
        const error = await rejection(client.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] }));
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(error.param).toBe('messages');
      }
      expect((await rejection(client.chat.completions.create({ model: 'gpt-5.5', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `${openai.url}/cat.png` } }] }] }))).message).toMatch(
        /does not point to a public address/,
      );
      expect(openai.requests).toHaveLength(0);
    });

    it("passes OpenAI's cached and reasoning token counts through, streaming or not", async () => {
      openai.script({ usage: { input: 100, output: 20 }, usageDetails: { cached: 64, reasoning: 12 } });
      const completion = await client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(completion.usage).toEqual({
        prompt_tokens: 100,
        completion_tokens: 20,
        total_tokens: 120,
        prompt_tokens_details: { cached_tokens: 64 },
        completion_tokens_details: { reasoning_tokens: 12 },
      });
      const stream = await client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } });
      let usage: OpenAI.CompletionUsage | null | undefined;
      for await (const chunk of stream) usage = chunk.usage ?? usage;
      expect(usage).toEqual(completion.usage);
    });
  });

  it('stores an answer that is only tool calls in the transcript, with empty text', async () => {
    const created = await t.http().post('/v1/conversations').set('authorization', `Bearer ${token}`).send({ title: 'tools' }).expect(201);
    const id: string = created.body.id;
    openai.script({ tokens: [], toolCalls: CALLS });
    await client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER], conversation_id: id } as never);
    const stream = await client.chat.completions.create({ model: 'gpt-5.4-mini', messages: [{ role: 'user', content: 'Again?' }], tools: [WEATHER], stream: true, conversation_id: id } as never);
    for await (const _ of stream as unknown as AsyncIterable<unknown>) void _;
    const rows = await prisma.message.findMany({ where: { threadId: id }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => [r.role, r.status, r.content, r.finishReason])).toEqual([
      ['user', 'complete', 'Weather?', null],
      ['assistant', 'complete', '', 'tool_calls'],
      ['user', 'complete', 'Again?', null],
      ['assistant', 'complete', '', 'tool_calls'],
    ]);
  });

  describe('LangChain ChatOpenAI over the gateway', () => {
    const chat = (model: string) => new ChatOpenAI({ model, apiKey: token, configuration: { baseURL: gatewayUrl(t) }, maxRetries: 0 });

    it.each(TOOL_MODELS)('%s: bindTools().invoke() returns the tool calls', async (model, fake) => {
      fake.script({ tokens: [], toolCalls: CALLS });
      const answer = await chat(model)
        .bindTools([{ type: 'function', function: WEATHER.function }])
        .invoke('Weather in Paris and Rome?');
      expect(answer.tool_calls).toEqual(CALLS.map((c) => expect.objectContaining({ name: c.name, args: JSON.parse(c.arguments), id: expect.stringMatching(/^call_/) })));
      expect(upstreamChat(fake).tools).toEqual([{ type: 'function', function: expect.objectContaining({ name: 'get_weather' }) }]);
    });

    it.each(TOOL_MODELS)('%s: withStructuredOutput(zod) sends a json_schema and parses the answer', async (model, fake) => {
      fake.script({ tokens: ['{"city":"Paris",', '"celsius":18}'] });
      const Weather = z.object({ city: z.string(), celsius: z.number() });
      const result = await chat(model).withStructuredOutput(Weather, { name: 'weather' }).invoke('Weather in Paris?');
      expect(result).toEqual({ city: 'Paris', celsius: 18 });
      const body = upstreamChat(fake);
      if (fake === openai) expect(body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'weather', schema: expect.objectContaining({ type: 'object' }) } });
      else expect(body.format).toMatchObject({ type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } } });
    });
  });
});
