import { FakeAnthropic } from '../../../../test/fakes/fake-anthropic';
import { providerHarness, WEATHER } from '../../../../test/support/provider-harness';
import { AnthropicProvider, JSON_ANSWER_TOOL } from './anthropic.provider';

const fake = new FakeAnthropic();
const { provider, ask, collect, signal } = providerHarness(fake, (url) => new AnthropicProvider(url), { model: 'claude-sonnet-5-5', apiKey: 'sk-ant-test' });
const CALLS = [
  { id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
  { id: 'toolu_02', name: 'get_weather', arguments: '{"city":"Lyon"}' },
];

describe('AnthropicProvider', () => {
  it('declares tools, response formats and images', () => {
    expect(provider().features).toEqual({ tools: true, responseFormat: true, images: true });
  });

  it('sends tools and each tool choice in Anthropic form', async () => {
    await provider().complete(ask({ tools: [WEATHER], toolChoice: 'required', parallelToolCalls: false }), signal());
    await provider().complete(ask({ tools: [WEATHER], toolChoice: { name: 'get_weather' } }), signal());
    await provider().complete(ask({ tools: [WEATHER], toolChoice: 'none' }), signal());
    await provider().complete(ask({ tools: [{ name: 'now' }] }), signal());
    const bodies = fake.requests.map((r) => r.body);
    expect(bodies[0].tools).toEqual([
      { name: 'get_weather', description: 'Current weather of a city', input_schema: WEATHER.parameters },
    ]);
    expect(bodies[0].tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    expect(bodies[1].tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
    expect(bodies[2].tool_choice).toEqual({ type: 'none' });
    expect(bodies[3].tools).toEqual([{ name: 'now', input_schema: { type: 'object', properties: {} } }]);
    expect(bodies[3].tool_choice).toEqual({ type: 'auto' });
    expect(bodies[0]).not.toHaveProperty('temperature');
  });

  it('streams tool calls as OpenAI-style deltas and finishes with tool_calls', async () => {
    fake.script({ tokens: ['Let me check.'], toolCalls: CALLS });
    const chunks = await collect(ask({ tools: [WEATHER] }));
    expect(chunks[0]).toEqual({ type: 'text', text: 'Let me check.' });
    const deltas = chunks.filter((c) => c.type === 'tool_call');
    // Counted from 0 in the answer, although the text block is content block 0.
    expect(deltas[0]).toEqual({ type: 'tool_call', index: 0, id: 'toolu_01', name: 'get_weather', arguments: '' });
    expect(deltas.filter((d) => d.index === 0).length).toBeGreaterThan(2);
    expect(deltas.filter((d) => d.index === 0).slice(1).every((d) => !('id' in d) && d.arguments)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ type: 'done', finishReason: 'tool_calls' });

    const result = await provider().complete(ask({ tools: [WEATHER] }), signal());
    expect(result.toolCalls).toEqual(CALLS);
    expect(result.text).toBe('Let me check.');
    expect(result.finishReason).toBe('tool_calls');
  });

  it('gives a call without parameters "{}" as its arguments', async () => {
    fake.script({ tokens: [], toolCalls: [{ id: 'toolu_09', name: 'now', arguments: '' }] });
    const result = await provider().complete(ask({ tools: [{ name: 'now' }] }), signal());
    expect(result.toolCalls).toEqual([{ id: 'toolu_09', name: 'now', arguments: '{}' }]);
    expect(result.text).toBe('');
  });

  it('sends a tool round trip as tool_use and merged tool_result blocks', async () => {
    await provider().complete(
      ask({
        tools: [WEATHER],
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Paris and Lyon?' },
          { role: 'assistant', content: 'Checking.', toolCalls: CALLS },
          { role: 'tool', content: '{"temp":21}', toolCallId: 'toolu_01', toolName: 'get_weather' },
          { role: 'tool', content: 'sunny, 25', toolCallId: 'toolu_02', toolName: 'get_weather' },
          { role: 'user', content: 'And tomorrow?' },
        ],
      }),
      signal(),
    );
    const body = fake.requests[0].body;
    expect(body.system).toBe('Be brief.');
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Lyon?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
          { type: 'tool_use', id: 'toolu_02', name: 'get_weather', input: { city: 'Lyon' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_01', content: '{"temp":21}' },
          { type: 'tool_result', tool_use_id: 'toolu_02', content: 'sunny, 25' },
          { type: 'text', text: 'And tomorrow?' },
        ],
      },
    ]);
  });

  it('forces a json_schema answer through a tool and streams its input out as text', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    fake.script({ tokens: [], toolCalls: [{ id: 'toolu_07', name: JSON_ANSWER_TOOL, arguments: '{"answer":"forty-two"}' }] });
    const result = await provider().complete(
      ask({ responseFormat: { type: 'json_schema', name: 'reply', schema, description: 'The reply' } }),
      signal(),
    );
    expect(result).toMatchObject({ text: '{"answer":"forty-two"}', finishReason: 'stop' });
    expect(result.toolCalls).toBeUndefined();
    const body = fake.requests[0].body;
    expect(body.tools).toEqual([expect.objectContaining({ name: JSON_ANSWER_TOOL, input_schema: schema })]);
    expect(body.tools[0].description).toContain('reply');
    expect(body.tool_choice).toEqual({ type: 'tool', name: JSON_ANSWER_TOOL, disable_parallel_tool_use: true });
  });

  it('forces json_object through a permissive tool, and lets the caller\'s own tools compete', async () => {
    await provider().complete(ask({ responseFormat: { type: 'json_object' } }), signal());
    expect(fake.requests[0].body.tools).toEqual([
      expect.objectContaining({ name: JSON_ANSWER_TOOL, input_schema: { type: 'object', additionalProperties: true } }),
    ]);
    fake.script({ tokens: [], toolCalls: [CALLS[0]] });
    const result = await provider().complete(ask({ tools: [WEATHER], responseFormat: { type: 'json_object' } }), signal());
    expect(fake.requests[1].body.tools.map((t: { name: string }) => t.name)).toEqual(['get_weather', JSON_ANSWER_TOOL]);
    expect(fake.requests[1].body.tool_choice).toEqual({ type: 'any' });
    expect(result).toMatchObject({ finishReason: 'tool_calls', toolCalls: [CALLS[0]] });
  });

  it('sends images as base64 image blocks after the text', async () => {
    await provider().complete(
      ask({ messages: [{ role: 'user', content: 'What is this?', images: [{ mediaType: 'image/png', data: 'iVBORw0KGgo=' }] }] }),
      signal(),
    );
    expect(fake.requests[0].body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        ],
      },
    ]);
  });

  it('reports cache reads as cached input tokens, counted into the input as OpenAI does', async () => {
    fake.script({ usage: { input: 12, output: 4 }, cacheReadTokens: 100 });
    const result = await provider().complete(ask(), signal());
    expect(result.usage).toEqual({ inputTokens: 112, outputTokens: 4, cachedInputTokens: 100 });
    expect(result.text).toBe('Hello, world!');
    expect(result.finishReason).toBe('stop');
  });

  it('keeps a plain chat as plain string turns', async () => {
    await provider().complete(ask(), signal());
    expect(fake.requests[0].body).toMatchObject({ messages: [{ role: 'user', content: 'What is the weather in Paris?' }], stream: true });
    expect(fake.requests[0].body).not.toHaveProperty('tools');
    expect(fake.requests[0].body).not.toHaveProperty('tool_choice');
  });
});
