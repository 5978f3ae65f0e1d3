import OpenAI from 'openai';
import { FakeAnthropic, FakeGemini, FakeOllama, FakeUpstream } from './fakes';
import { openaiClientWithNewToken, upstreamEnv, useFakeUpstreams } from './support/gateway-clients';
import { createTestApp, registerUser, TestApp } from './support/test-app';
import { CALLS, CITY_SCHEMA, TOOL_ROUND_TRIP, WEATHER } from './support/tool-fixtures';

/**
 * Tools, structured output and images on /v1/chat/completions for the providers whose wire
 * format is not OpenAI's, driven by the official `openai` SDK: the client sees OpenAI's
 * shapes, each upstream gets its own (Anthropic tool_use / tool_result blocks and a forced
 * answer tool for JSON; Gemini functionDeclarations / functionCall / functionResponse parts
 * and responseJsonSchema).
 */

const anthropic = new FakeAnthropic();
const gemini = new FakeGemini();
const ollama = new FakeOllama({ models: ['llava:7b'] });
useFakeUpstreams(anthropic, gemini, ollama);

const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const MODELS: Array<[model: string, fake: FakeAnthropic | FakeGemini]> = [
  ['claude-sonnet', anthropic],
  ['gemini-flash', gemini],
];

/** The body of the one model call that reached the upstream. */
const upstreamCall = (fake: FakeUpstream) => fake.requests.filter((r) => r.method === 'POST').at(-1)!.body;

function expectCalls(calls: OpenAI.Chat.ChatCompletionMessageToolCall[] | undefined): void {
  expect(calls?.map((c) => (c.type === 'function' ? { id: c.id, name: c.function.name, args: JSON.parse(c.function.arguments) } : c))).toEqual(
    CALLS.map((c) => ({ id: c.id, name: c.name, args: JSON.parse(c.arguments) })),
  );
}

describe('Gateway tools, structured output and images on Anthropic and Gemini (e2e)', () => {
  let t: TestApp;
  let client: OpenAI;

  beforeAll(async () => {
    t = await createTestApp({
      listen: true,
      env: {
        ...upstreamEnv({ anthropic, gemini, ollama }),
        PROVIDER_MAX_RETRIES: '0',
        RATE_LIMITS: 'register=1000,profile.tokens=1000,gateway=1000',
      },
    });
    client = await openaiClientWithNewToken(t, await registerUser(t));
  });
  afterAll(() => t.close());

  describe.each(MODELS)('%s', (model, fake) => {
    it('non-streaming: the calls come back as OpenAI tool_calls; the tools reached the upstream in its format', async () => {
      fake.script({ tokens: [], toolCalls: CALLS });
      const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }], tools: [WEATHER], tool_choice: 'required' });
      expect(completion.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: null } });
      expectCalls(completion.choices[0].message.tool_calls);

      const body = upstreamCall(fake);
      const { name, description, parameters } = WEATHER.function;
      if (fake === anthropic) {
        expect(body.tools).toEqual([{ name, description, input_schema: parameters }]);
        expect(body.tool_choice).toEqual({ type: 'any' });
      } else {
        expect(body.tools).toEqual([{ functionDeclarations: [{ name, description, parametersJsonSchema: parameters }] }]);
        expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
      }
    });

    it('streaming: the SDK assembles the same calls from OpenAI-style deltas', async () => {
      fake.script({ tokens: ['Checking.'], toolCalls: CALLS });
      const runner = client.chat.completions.stream({ model, messages: [{ role: 'user', content: 'Weather in Paris and Rome?' }], tools: [WEATHER] });
      const final = await runner.finalChatCompletion();
      expect(final.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: 'Checking.' } });
      expectCalls(final.choices[0].message.tool_calls);
    });

    it('the tool-result round trip reaches the upstream in its own format', async () => {
      fake.script({ tokens: ['18°C in Paris'] });
      const completion = await client.chat.completions.create({
        model,
        messages: TOOL_ROUND_TRIP,
        tools: [WEATHER],
      });
      expect(completion.choices[0]).toMatchObject({ message: { content: '18°C in Paris' }, finish_reason: 'stop' });
      const body = upstreamCall(fake);
      if (fake === anthropic) {
        expect(body.messages).toEqual([
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'call_paris1', name: 'get_weather', input: { city: 'Paris' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_paris1', content: '18°C, sunny' }] },
        ]);
      } else {
        expect(body.contents).toMatchObject([
          { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
          { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { result: '18°C, sunny' } } }] },
        ]);
      }
    });

    it('response_format json_schema: JSON content back, the schema reached the upstream in its format', async () => {
      const answer = '{"city":"Paris","celsius":18}';
      // Anthropic answers through the forced answer tool; Gemini writes the JSON as text.
      if (fake === anthropic) fake.script({ tokens: [], toolCalls: [{ id: 'toolu_json', name: 'json_answer', arguments: answer }] });
      else fake.script({ tokens: ['{"city":', '"Paris",', '"celsius":18}'] });
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Weather in Paris as JSON' }],
        response_format: { type: 'json_schema', json_schema: { name: 'weather', schema: CITY_SCHEMA, strict: true } },
      });
      expect(completion.choices[0].finish_reason).toBe('stop');
      expect(completion.choices[0].message.tool_calls ?? []).toEqual([]);
      expect(JSON.parse(completion.choices[0].message.content!)).toEqual({ city: 'Paris', celsius: 18 });
      const body = upstreamCall(fake);
      if (fake === anthropic) {
        expect(body.tools).toEqual([expect.objectContaining({ name: 'json_answer', input_schema: expect.objectContaining({ properties: CITY_SCHEMA.properties }) })]);
        expect(body.tool_choice).toMatchObject({ type: 'tool', name: 'json_answer' });
      } else {
        expect(body.generationConfig).toMatchObject({ responseMimeType: 'application/json', responseJsonSchema: CITY_SCHEMA });
      }
    });

    it('an image part reaches the upstream as its own image block', async () => {
      await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } }] }],
      });
      const body = upstreamCall(fake);
      if (fake === anthropic) {
        expect(body.messages).toEqual([
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_BASE64 } },
            ],
          },
        ]);
      } else {
        expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'What is this?' }, { inlineData: { mimeType: 'image/png', data: PNG_BASE64 } }] }]);
      }
    });
  });

  it('an image reaches an Ollama vision model (routed as ollama/<model>) as base64 in images', async () => {
    await client.chat.completions.create({
      model: 'ollama/llava:7b',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } }] }],
    });
    expect(upstreamCall(ollama)).toMatchObject({ model: 'llava:7b', messages: [{ role: 'user', content: 'What is this?', images: [PNG_BASE64] }] });
  });
});
