import { FakeGemini } from '../../../../test/fakes/fake-gemini';
import { providerHarness, WEATHER } from '../../../../test/support/provider-harness';
import { GoogleProvider } from './google.provider';

const fake = new FakeGemini();
const { provider, ask, collect, signal } = providerHarness(fake, (url) => new GoogleProvider(url), { model: 'gemini-2.5-flash', apiKey: 'gm-test' });
const CALLS = [
  { id: 'fc-1', name: 'get_weather', arguments: '{"city":"Paris"}' },
  { id: 'fc-2', name: 'get_weather', arguments: '{"city":"Lyon"}' },
];

describe('GoogleProvider', () => {
  it('declares tools, response formats and images', () => {
    expect(provider().features).toEqual({ tools: true, responseFormat: true, images: true });
  });

  it('sends function declarations and each tool choice as a function calling mode', async () => {
    await provider().complete(ask({ tools: [WEATHER], toolChoice: 'required' }), signal());
    await provider().complete(ask({ tools: [WEATHER], toolChoice: { name: 'get_weather' } }), signal());
    await provider().complete(ask({ tools: [WEATHER], toolChoice: 'none' }), signal());
    await provider().complete(ask({ tools: [WEATHER], toolChoice: 'auto' }), signal());
    await provider().complete(ask({ tools: [{ name: 'now' }] }), signal());
    const bodies = fake.requests.map((r) => r.body);
    expect(fake.requests[0].path).toMatch(/:streamGenerateContent\?alt=sse$/);
    expect(bodies[0].tools).toEqual([
      { functionDeclarations: [{ name: 'get_weather', description: 'Current weather of a city', parametersJsonSchema: WEATHER.parameters }] },
    ]);
    expect(bodies[0].toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(bodies[1].toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });
    expect(bodies[2].toolConfig).toEqual({ functionCallingConfig: { mode: 'NONE' } });
    expect(bodies[3].toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
    expect(bodies[4].tools[0].functionDeclarations).toEqual([{ name: 'now', parametersJsonSchema: { type: 'object', properties: {} } }]);
    expect(bodies[4]).not.toHaveProperty('toolConfig');
  });

  it('streams each function call whole as one tool call and finishes with tool_calls', async () => {
    fake.script({ tokens: ['Let me ', 'check.'], toolCalls: CALLS });
    const chunks = await collect(ask({ tools: [WEATHER] }));
    expect(chunks).toEqual([
      { type: 'text', text: 'Let me ' },
      { type: 'text', text: 'check.' },
      { type: 'tool_call', index: 0, id: 'fc-1', name: 'get_weather', arguments: '{"city":"Paris"}' },
      { type: 'tool_call', index: 1, id: 'fc-2', name: 'get_weather', arguments: '{"city":"Lyon"}' },
      { type: 'done', finishReason: 'tool_calls', usage: { inputTokens: 12, outputTokens: 2 } },
    ]);
    const result = await provider().complete(ask({ tools: [WEATHER] }), signal());
    expect(result).toMatchObject({ text: 'Let me check.', finishReason: 'tool_calls', toolCalls: CALLS });
  });

  it('gives a call Gemini sent without an id a generated one', async () => {
    fake.script({ tokens: [], toolCalls: [{ id: '', name: 'now', arguments: '{}' }] });
    const result = await provider().complete(ask({ tools: [{ name: 'now' }] }), signal());
    expect(result.toolCalls).toEqual([{ id: expect.stringMatching(/^call_[0-9a-f]{24}$/), name: 'now', arguments: '{}' }]);
    expect(result.text).toBe('');
  });

  it('sends a tool round trip as functionCall and merged functionResponse parts', async () => {
    await provider().complete(
      ask({
        tools: [WEATHER],
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Weather in Paris and Lyon?' },
          { role: 'assistant', content: '', toolCalls: CALLS },
          { role: 'tool', content: '{"temp":21}', toolCallId: 'fc-1', toolName: 'get_weather' },
          // No name: found from the call it answers.
          { role: 'tool', content: 'sunny, 25', toolCallId: 'fc-2' },
        ],
      }),
      signal(),
    );
    const body = fake.requests[0].body;
    expect(body.systemInstruction).toMatchObject({ parts: [{ text: 'Be brief.' }] });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and Lyon?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'get_weather', args: { city: 'Lyon' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temp: 21 } } },
          { functionResponse: { name: 'get_weather', response: { result: 'sunny, 25' } } },
        ],
      },
    ]);
  });

  it('signs replayed calls for Gemini 3 with the documented placeholder', async () => {
    await provider().complete(
      ask({
        model: 'gemini-3-pro-preview',
        messages: [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: '', toolCalls: CALLS },
          { role: 'tool', content: '1', toolCallId: 'fc-1', toolName: 'get_weather' },
          { role: 'tool', content: '2', toolCallId: 'fc-2', toolName: 'get_weather' },
        ],
      }),
      signal(),
    );
    const parts = fake.requests[0].body.contents[1].parts;
    expect(parts[0].thoughtSignature).toBe('skip_thought_signature_validator');
    expect(parts[1]).not.toHaveProperty('thoughtSignature');
    expect(fake.requests[0].body.contents[2].parts[0]).toEqual({ functionResponse: { name: 'get_weather', response: { result: 1 } } });
  });

  it('asks for JSON, with the schema for json_schema', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    await provider().complete(ask({ responseFormat: { type: 'json_schema', name: 'reply', schema } }), signal());
    await provider().complete(ask({ responseFormat: { type: 'json_object' } }), signal());
    await provider().complete(ask({ responseFormat: { type: 'text' } }), signal());
    const [schemaBody, objectBody, textBody] = fake.requests.map((r) => r.body);
    expect(schemaBody.generationConfig).toMatchObject({ responseMimeType: 'application/json', responseJsonSchema: schema });
    expect(objectBody.generationConfig.responseMimeType).toBe('application/json');
    expect(objectBody.generationConfig).not.toHaveProperty('responseJsonSchema');
    expect(textBody.generationConfig ?? {}).not.toHaveProperty('responseMimeType');
  });

  it('sends images as inlineData parts after the text', async () => {
    await provider().complete(
      ask({ messages: [{ role: 'user', content: 'What is this?', images: [{ mediaType: 'image/jpeg', data: '/9j/4AAQ' }] }] }),
      signal(),
    );
    expect(fake.requests[0].body.contents).toEqual([
      { role: 'user', parts: [{ text: 'What is this?' }, { inlineData: { mimeType: 'image/jpeg', data: '/9j/4AAQ' } }] },
    ]);
  });

  it('passes cached and thinking token counts through, thinking counted as output', async () => {
    fake.script({ usage: { input: 120, output: 4 }, cachedTokens: 100, thoughtsTokens: 30 });
    const result = await provider().complete(ask(), signal());
    expect(result).toMatchObject({ text: 'Hello, world!', finishReason: 'stop' });
    expect(result.usage).toEqual({ inputTokens: 120, outputTokens: 34, cachedInputTokens: 100, reasoningTokens: 30 });
    expect(result.toolCalls).toBeUndefined();
  });
});
