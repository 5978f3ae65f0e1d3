import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, streamText, tool } from 'ai';
import { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { z } from 'zod';
import { PrismaService } from '../src/infra/database/prisma.service';
import { UsageService } from '../src/modules/usage/usage.service';
import { FakeAnthropic, FakeOpenAI } from './fakes';
import { createApiToken, gatewayUrl, openaiClient, openaiClientWithNewToken, rejection, upstreamEnv, useFakeUpstreams } from './support/gateway-clients';
import { sse } from './support/sse';
import { createTestApp, registerUser, SignedIn, TestApp } from './support/test-app';

/**
 * OpenAI's Responses API (/v1/responses) driven by real clients exactly as programs use
 * them (only baseURL and apiKey changed): the official `openai` SDK, the Vercel AI SDK's
 * default OpenAI provider and LangChain's ChatOpenAI with useResponsesApi, over fake OpenAI
 * and Anthropic upstreams.
 */

const openai = new FakeOpenAI();
const anthropic = new FakeAnthropic();
useFakeUpstreams(openai, anthropic);

const WEATHER_CALL = { id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
  strict: true,
};

describe('Responses API /v1/responses (e2e)', () => {
  let t: TestApp;
  let prisma: PrismaService;
  let alice: SignedIn;
  let token: string;
  let client: OpenAI;
  let baseURL: string;

  const port = () => (t.app.getHttpServer().address() as AddressInfo).port;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: {
        ...upstreamEnv({ openai, anthropic }),
        PROVIDER_MAX_RETRIES: '0',
        LLM_BANNED_TERMS: 'forbidden',
        RATE_LIMITS: 'register=1000,profile.tokens=1000,gateway=1000',
      },
    });
    prisma = t.app.get(PrismaService);
    baseURL = gatewayUrl(t);
    alice = await registerUser(t);
    token = (await createApiToken(t, alice)).token;
    client = openaiClient(t, token);
  });
  afterAll(() => t.close());

  describe('openai SDK', () => {
    it.each([
      ['gpt-5.4-mini', openai],
      ['claude-sonnet', anthropic],
    ])('%s: responses.create answers a Response whose output_text is the text', async (model, fake) => {
      const response = await client.responses.create({ model, input: 'Say hello' });
      expect(response.output_text).toBe('Hello, world!');
      expect(response).toMatchObject({
        id: expect.stringMatching(/^resp_[0-9a-f]{48}$/),
        object: 'response',
        created_at: expect.any(Number),
        status: 'completed',
        model,
        error: null,
        incomplete_details: null,
        instructions: null,
        tools: [],
        tool_choice: 'auto',
        parallel_tool_calls: true,
        text: { format: { type: 'text' } },
        previous_response_id: null,
        output: [
          { type: 'message', id: expect.stringMatching(/^msg_/), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hello, world!', annotations: [] }] },
        ],
        usage: { input_tokens: 12, output_tokens: 4, total_tokens: 16, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
      });
      expect(fake.requests).toHaveLength(1);
    });

    it('instructions reach the upstream as a system message; sampling parameters are mapped', async () => {
      await client.responses.create({
        model: 'gpt-5.4-mini',
        instructions: 'Be brief.',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'Say ' }, { type: 'input_text', text: 'hello' }] }],
        temperature: 0.3,
        top_p: 0.9,
        max_output_tokens: 64,
        // Not mapped: dropped, not refused.
        truncation: 'auto',
        user: 'program-user-1',
      });
      expect(openai.requests[0].body).toMatchObject({
        model: 'gpt-5.4-mini',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Say hello' },
        ],
        temperature: 0.3,
        top_p: 0.9,
        max_completion_tokens: 64,
      });
      expect(openai.requests[0].body).not.toHaveProperty('truncation');
    });

    it('an input_image data URL reaches the upstream as an image of the user message', async () => {
      const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
      await client.responses.create({
        model: 'gpt-5.4-mini',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: `data:image/png;base64,${png}`, detail: 'auto' }] }],
      });
      const [message] = openai.requests[0].body.messages;
      expect(message.role).toBe('user');
      expect(JSON.stringify(message.content)).toContain('What is this?');
      expect(JSON.stringify(message.content)).toContain(png);
    });

    it('an input_image URL on this machine is refused naming input, never fetched', async () => {
      const error = await client.responses
        .create({ model: 'gpt-5.4-mini', input: [{ role: 'user', content: [{ type: 'input_image', image_url: `${openai.url}/cat.png`, detail: 'auto' }] }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error).toMatchObject({ param: 'input', message: expect.stringContaining('does not point to a public address') });
      expect(openai.requests).toHaveLength(0);
    });

    it('text.format json_schema reaches the upstream as response_format', async () => {
      openai.script({ tokens: ['{"name":', '"Ada"}'] });
      const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };
      const response = await client.responses.create({
        model: 'gpt-5.4-mini',
        input: 'Who wrote the first program?',
        text: { format: { type: 'json_schema', name: 'person', schema, strict: true } },
      });
      expect(JSON.parse(response.output_text)).toEqual({ name: 'Ada' });
      expect(response.text).toEqual({ format: { type: 'json_schema', name: 'person', schema, strict: true } });
      expect(openai.requests[0].body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'person', schema, strict: true } });
    });

    it('streams events in the documented order, then the final text', async () => {
      openai.script({ tokens: ['Event', '-driven', ' is', ' great'] });
      const stream = await client.responses.create({ model: 'gpt-5.4-mini', input: 'Why events?', stream: true });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      expect(events.map((e) => e.type)).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      const deltas = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
      expect(deltas.join('')).toBe('Event-driven is great');
      const completed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.completed' }>;
      expect(completed.response).toMatchObject({ status: 'completed', output_text: 'Event-driven is great', usage: { input_tokens: 12, output_tokens: 4 } });
      expect(events[0]).toMatchObject({ response: { id: completed.response.id, status: 'in_progress', output: [] } });
    });

    it('client.responses.stream() gives the text deltas and the final response', async () => {
      anthropic.script({ tokens: ['One', ' two'] });
      const stream = client.responses.stream({ model: 'claude-sonnet', input: 'Count' });
      let text = '';
      stream.on('response.output_text.delta', (event) => (text += event.delta));
      const final = await stream.finalResponse();
      expect(final.output_text).toBe('One two');
      expect(text).toBe('One two');
    });

    it('returns the function call the model made, and sends its output back as the tool round trip', async () => {
      openai.script({ tokens: [], toolCalls: [WEATHER_CALL] });
      const first = await client.responses.create({ model: 'gpt-5.4-mini', input: 'Weather in Paris?', tools: [WEATHER_TOOL], tool_choice: 'auto' });
      expect(first.output).toEqual([
        { type: 'function_call', id: expect.stringMatching(/^fc_/), call_id: WEATHER_CALL.id, name: WEATHER_CALL.name, arguments: WEATHER_CALL.arguments, status: 'completed' },
      ]);
      expect(first.output_text).toBe('');
      expect(first.tools).toEqual([WEATHER_TOOL]);
      expect(openai.requests[0].body).toMatchObject({
        tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather of a city', parameters: WEATHER_TOOL.parameters, strict: true } }],
        tool_choice: 'auto',
      });

      openai.script({ tokens: ['Sunny', ' in Paris'], toolCalls: [] });
      const second = await client.responses.create({
        model: 'gpt-5.4-mini',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: WEATHER_CALL.id, output: '{"sky":"clear"}' }],
        tools: [WEATHER_TOOL],
      });
      expect(second.output_text).toBe('Sunny in Paris');
      expect(second.previous_response_id).toBe(first.id);
      expect(openai.requests[1].body.messages).toEqual([
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: WEATHER_CALL.id, type: 'function', function: { name: 'get_weather', arguments: WEATHER_CALL.arguments } }] },
        { role: 'tool', tool_call_id: WEATHER_CALL.id, content: '{"sky":"clear"}' },
      ]);
    });

    it('streams a function call as output_item.added, argument deltas, arguments.done, output_item.done', async () => {
      openai.script({ tokens: [], toolCalls: [WEATHER_CALL] });
      const stream = await client.responses.create({ model: 'gpt-5.4-mini', input: 'Weather in Paris?', tools: [WEATHER_TOOL], stream: true });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const types = events.map((e) => e.type);
      expect(types.slice(0, 3)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
      expect(types.slice(-3)).toEqual(['response.function_call_arguments.done', 'response.output_item.done', 'response.completed']);
      expect(new Set(types.slice(3, -3))).toEqual(new Set(['response.function_call_arguments.delta']));
      const added = events[2] as Extract<ResponseStreamEvent, { type: 'response.output_item.added' }>;
      expect(added.item).toMatchObject({ type: 'function_call', call_id: WEATHER_CALL.id, name: 'get_weather', arguments: '', status: 'in_progress' });
      const done = events.at(-2) as Extract<ResponseStreamEvent, { type: 'response.output_item.done' }>;
      expect(done.item).toMatchObject({ type: 'function_call', call_id: WEATHER_CALL.id, arguments: WEATHER_CALL.arguments, status: 'completed' });
    });

    it('previous_response_id carries the conversation on; another user cannot use or read it', async () => {
      const first = await client.responses.create({ model: 'gpt-5.4-mini', instructions: 'Be brief.', input: 'My name is Ada.' });
      openai.script({ tokens: ['Ada'] });
      const second = await client.responses.create({ model: 'gpt-5.4-mini', previous_response_id: first.id, input: 'What is my name?' });
      expect(second.output_text).toBe('Ada');
      // Instructions are not carried over; input and output are.
      expect(openai.requests[1].body.messages).toEqual([
        { role: 'user', content: 'My name is Ada.' },
        { role: 'assistant', content: 'Hello, world!' },
        { role: 'user', content: 'What is my name?' },
      ]);

      const retrieved = await client.responses.retrieve(second.id);
      expect(retrieved).toEqual({ ...second, output_text: 'Ada' });

      const bob = await openaiClientWithNewToken(t, await registerUser(t));
      const used = await rejection(bob.responses.create({ model: 'gpt-5.4-mini', previous_response_id: first.id, input: 'hi' }));
      expect(used).toBeInstanceOf(OpenAI.NotFoundError);
      expect(used.error).toMatchObject({ type: 'invalid_request_error', param: 'previous_response_id' });
      expect(await rejection(bob.responses.retrieve(first.id))).toBeInstanceOf(OpenAI.NotFoundError);
      const unknown = await rejection(client.responses.create({ model: 'gpt-5.4-mini', previous_response_id: 'resp_0123456789abcdef', input: 'hi' }));
      expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
      expect(openai.requests).toHaveLength(2);
    });

    it('an item_reference names an output item of a stored response (the AI SDK sends them for earlier answers)', async () => {
      const first = await client.responses.create({ model: 'gpt-5.4-mini', input: 'Say hello' });
      openai.script({ tokens: ['Again'] });
      await client.responses.create({
        model: 'gpt-5.4-mini',
        input: [{ role: 'user', content: 'Say hello' }, { type: 'item_reference', id: first.output[0].id! }, { role: 'user', content: 'Once more' }],
      });
      expect(openai.requests[1].body.messages).toEqual([
        { role: 'user', content: 'Say hello' },
        { role: 'assistant', content: 'Hello, world!' },
        { role: 'user', content: 'Once more' },
      ]);
      const bob = await openaiClientWithNewToken(t, await registerUser(t));
      const foreign = await rejection(bob.responses.create({ model: 'gpt-5.4-mini', input: [{ type: 'item_reference', id: first.output[0].id! }] }));
      expect(foreign).toBeInstanceOf(OpenAI.NotFoundError);
      expect(foreign.error).toMatchObject({ param: 'input.0.id' });
    });

    it('store: false answers but keeps nothing', async () => {
      const response = await client.responses.create({ model: 'gpt-5.4-mini', input: 'hi', store: false });
      expect(response.output_text).toBe('Hello, world!');
      expect(await rejection(client.responses.retrieve(response.id))).toBeInstanceOf(OpenAI.NotFoundError);
      expect(await prisma.storedResponse.count({ where: { id: response.id } })).toBe(0);
      const chained = await rejection(client.responses.create({ model: 'gpt-5.4-mini', previous_response_id: response.id, input: 'more' }));
      expect(chained).toBeInstanceOf(OpenAI.NotFoundError);
    });
  });

  describe('raw HTTP, checked against openapi.json', () => {
    it('a non-streaming response and a stored one match the documented schema', async () => {
      const res = await t.http().post('/v1/responses').set('authorization', `Bearer ${token}`).send({ model: 'gpt-5.4-mini', input: 'hi', metadata: { job: '7' } }).expect(200);
      expect(res.body).toMatchObject({ object: 'response', status: 'completed', output_text: 'Hello, world!', metadata: { job: '7' } });
      const got = await t.http().get(`/v1/responses/${res.body.id}`).set('authorization', `Bearer ${token}`).expect(200);
      expect(got.body).toEqual(res.body);
    });

    it('streams event:/data: frames with the type as the event name', async () => {
      openai.script({ tokens: ['Server', '-sent'] });
      const { status, headers, events } = await sse(port(), 'POST', '/v1/responses', { authorization: `Bearer ${token}` }, { model: 'gpt-5.4-mini', input: 'hi', stream: true });
      expect(status).toBe(200);
      expect(headers['content-type']).toMatch(/^text\/event-stream/);
      expect(events.every((e) => e.event === e.data.type)).toBe(true);
      expect(events.at(-1)!.data.response.output_text).toBe('Server-sent');
    });

    it('a tool-call stream matches the documented schema too', async () => {
      openai.script({ tokens: ['Checking.'], toolCalls: [WEATHER_CALL] });
      const { events } = await sse(port(), 'POST', '/v1/responses', { authorization: `Bearer ${token}` }, { model: 'gpt-5.4-mini', input: 'Weather?', tools: [WEATHER_TOOL], stream: true });
      expect(events.at(-1)!.data.response.output.map((i: { type: string }) => i.type)).toEqual(['message', 'function_call']);
    });
  });

  describe('errors in OpenAI format', () => {
    it('400 naming the parameter for invalid requests, before any provider call', async () => {
      const cases: Array<[object, string]> = [
        [{ model: 'gpt-5.4-mini', input: 'hi', tools: [{ type: 'web_search' }] }, 'tools'],
        [{ model: 'gpt-5.4-mini', input: 'hi', temperature: 3 }, 'temperature'],
        [{ model: 'gpt-5.4-mini', input: [] }, 'input'],
        [{ model: 'gpt-5.4-mini', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] }, 'input.0.content.0.type'],
        [{ model: 'gpt-5.4-mini', input: [{ type: 'function_call_output', call_id: 'nope', output: 'x' }] }, 'input'],
        [{ model: 'gpt-5.4-mini', input: 'hi', text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema'],
        [{ model: 'gpt-5.4-mini', input: 'hi', tool_choice: { type: 'function', name: 'missing' } }, 'tool_choice'],
      ];
      for (const [body, param] of cases) {
        const error = await rejection(client.responses.create(body as never));
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect(error.error).toMatchObject({ type: 'invalid_request_error', param, code: 'validation_error' });
      }
      expect(openai.requests).toHaveLength(0);
    });

    it('404 model_not_found for a model that is not in the catalog; 401 without a personal token', async () => {
      const missing = await rejection(client.responses.create({ model: 'gpt-0-imaginary', input: 'hi' }));
      expect(missing).toBeInstanceOf(OpenAI.NotFoundError);
      expect(missing.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found' });
      const session = await rejection(openaiClient(t, alice.accessToken).responses.create({ model: 'gpt-5.4-mini', input: 'hi' }));
      expect(session).toBeInstanceOf(OpenAI.AuthenticationError);
    });

    it('moderation refuses banned terms in any item with 422', async () => {
      const error = await rejection(client.responses.create({ model: 'gpt-5.4-mini', input: [{ role: 'user', content: 'a Forbidden word' }] }));
      expect(error).toBeInstanceOf(OpenAI.UnprocessableEntityError);
      expect(error.error).toMatchObject({ code: 'content_policy_violation' });
      expect(openai.requests).toHaveLength(0);
    });

    it('an upstream failure before the first token is an HTTP error, streaming or not', async () => {
      openai.script({ failWith: { status: 429, retryAfter: 7 } });
      expect(await rejection(client.responses.create({ model: 'gpt-5.4-mini', input: 'hi' }))).toBeInstanceOf(OpenAI.RateLimitError);
      expect(await rejection(client.responses.create({ model: 'gpt-5.4-mini', input: 'hi', stream: true }))).toBeInstanceOf(OpenAI.RateLimitError);
    });

    it('a failure after the first token ends the stream with response.failed, stored as failed', async () => {
      openai.script({ tokens: ['one', ' two', ' three', ' four'], cutAfter: 2 });
      const stream = await client.responses.create({ model: 'gpt-5.4-mini', input: 'count', stream: true });
      const events: ResponseStreamEvent[] = [];
      for await (const event of stream) events.push(event);
      const failed = events.at(-1) as Extract<ResponseStreamEvent, { type: 'response.failed' }>;
      expect(failed.type).toBe('response.failed');
      expect(failed.response).toMatchObject({ status: 'failed', error: { code: 'server_error', message: expect.any(String) }, output_text: 'one two' });
      expect((await client.responses.retrieve(failed.response.id)).status).toBe('failed');
      // Expected failures are not logged as server errors with stack traces.
      expect(t.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
    });

    it('a client that aborts a stream aborts the upstream call, recorded as cancelled', async () => {
      const me = await registerUser(t);
      const mine = await openaiClientWithNewToken(t, me);
      openai.script({ tokens: Array.from({ length: 50 }, (_, i) => `t${i} `), delayMs: 50 });
      const controller = new AbortController();
      const stream = await mine.responses.create({ model: 'gpt-5.4-mini', input: 'long answer', stream: true }, { signal: controller.signal });
      const seen: string[] = [];
      await rejection(
        (async () => {
          for await (const event of stream) {
            if (event.type === 'response.output_text.delta') seen.push(event.delta);
            if (seen.length === 2) controller.abort();
          }
          throw new Error('stream ended normally');
        })(),
      );
      await openai.waitForAbort(3000);
      expect(seen).toEqual(['t0 ', 't1 ']);
      await t.app.get(UsageService).flush();
      const rows = await waitFor(() => prisma.usageRecord.findMany({ where: { userId: me.user.id } }), (r) => r.length > 0);
      expect(rows).toEqual([expect.objectContaining({ source: 'gateway', status: 'cancelled', modelId: 'gpt-5.4-mini' })]);
    });
  });

  it('records usage like chat completions: source gateway, per model, with the token', async () => {
    const me = await registerUser(t);
    const mine = await openaiClientWithNewToken(t, me);
    await mine.responses.create({ model: 'gpt-5.4-mini', input: 'hi' });
    for await (const _ of await mine.responses.create({ model: 'claude-sonnet', input: 'hi', stream: true })) void _;
    await t.app.get(UsageService).flush();
    const rows = await prisma.usageRecord.findMany({ where: { userId: me.user.id }, orderBy: { modelId: 'asc' } });
    expect(rows.map((r) => [r.source, r.modelId, r.status, r.promptTokens, r.completionTokens, !!r.apiTokenId])).toEqual([
      ['gateway', 'claude-sonnet', 'complete', 12, 4, true],
      ['gateway', 'gpt-5.4-mini', 'complete', 12, 4, true],
    ]);
  });

  describe('Vercel AI SDK (createOpenAI: the Responses API)', () => {
    const provider = () => createOpenAI({ baseURL, apiKey: token });

    it('generateText returns the text', async () => {
      const result = await generateText({ model: provider()('gpt-5.4-mini'), prompt: 'Say hello', maxRetries: 0 });
      expect(result.text).toBe('Hello, world!');
      expect(result.finishReason).toBe('stop');
      expect(result.usage).toMatchObject({ inputTokens: 12, outputTokens: 4, totalTokens: 16 });
      expect(openai.requests[0].body.messages).toEqual([{ role: 'user', content: 'Say hello' }]);
    });

    it('streamText streams it', async () => {
      openai.script({ tokens: ['Str', 'eam', 'ed'] });
      const result = streamText({ model: provider()('gpt-5.4-mini'), system: 'Be brief.', prompt: 'Go', maxRetries: 0 });
      const parts: string[] = [];
      for await (const part of result.textStream) parts.push(part);
      expect(parts.join('')).toBe('Streamed');
      expect(await result.finishReason).toBe('stop');
      expect(openai.requests[0].body.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    });

    it('returns the tool call the model made', async () => {
      openai.script({ tokens: [], toolCalls: [WEATHER_CALL] });
      const result = await generateText({
        model: provider()('gpt-5.4-mini'),
        prompt: 'Weather in Paris?',
        tools: { get_weather: tool({ description: 'Current weather of a city', inputSchema: z.object({ city: z.string() }) }) },
        maxRetries: 0,
      });
      expect(result.finishReason).toBe('tool-calls');
      expect(result.toolCalls).toEqual([expect.objectContaining({ type: 'tool-call', toolCallId: WEATHER_CALL.id, toolName: 'get_weather', input: { city: 'Paris' } })]);
      expect(openai.requests[0].body.tools[0]).toMatchObject({ type: 'function', function: { name: 'get_weather', parameters: expect.objectContaining({ type: 'object' }) } });
    });

    it('a follow-up turn with the earlier answer in the messages reaches the upstream as history', async () => {
      const first = await generateText({ model: provider()('gpt-5.4-mini'), prompt: 'Say hello', maxRetries: 0 });
      openai.script({ tokens: ['Again'] });
      const second = await generateText({
        model: provider()('gpt-5.4-mini'),
        messages: [{ role: 'user', content: 'Say hello' }, ...first.response.messages, { role: 'user', content: 'Once more' }],
        maxRetries: 0,
      });
      expect(second.text).toBe('Again');
      expect(openai.requests[1].body.messages).toEqual([
        { role: 'user', content: 'Say hello' },
        { role: 'assistant', content: 'Hello, world!' },
        { role: 'user', content: 'Once more' },
      ]);
    });
  });

  describe('LangChain ChatOpenAI (useResponsesApi: true)', () => {
    const chat = (model: string) => new ChatOpenAI({ model, apiKey: token, configuration: { baseURL }, useResponsesApi: true, maxRetries: 0 });

    it('invoke() returns the text', async () => {
      const stored = () => prisma.storedResponse.count({ where: { userId: alice.user.id } });
      const before = await stored();
      const answer = await chat('gpt-5.4-mini').invoke('hi');
      expect(answer.text).toBe('Hello, world!');
      // It went through /v1/responses (which stored it), not /v1/chat/completions.
      expect(await stored()).toBe(before + 1);
      expect(openai.requests[0].body.messages).toEqual([{ role: 'user', content: 'hi' }]);
    });

    it('bindTools().invoke() returns the tool call', async () => {
      openai.script({ tokens: [], toolCalls: [WEATHER_CALL] });
      const answer = await chat('gpt-5.4-mini')
        .bindTools([{ type: 'function', function: { name: WEATHER_TOOL.name, description: WEATHER_TOOL.description, parameters: WEATHER_TOOL.parameters } }])
        .invoke('Weather in Paris?');
      expect(answer.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: { city: 'Paris' }, id: WEATHER_CALL.id })]);
    });
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
