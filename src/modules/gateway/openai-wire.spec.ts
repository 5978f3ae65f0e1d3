import { ChatCompletionRequestDto } from './gateway.dto';
import { chunkOf, completionOf, finishReasonOf, toCallParameters, toChatMessages, streamFinishReasonOf, toolCallDeltas, usageOf } from './openai-wire';

const head = { id: 'chatcmpl-1', created: 1700000000, model: 'claude-sonnet' };
/** Stands in for ImageInputs: what each URL loads as. */
const loadImage = async (url: string) => ({ mediaType: 'image/png', data: `bytes of ${url}` });

describe('OpenAI wire mapping', () => {
  it('maps developer to system and joins text parts', async () => {
    expect(
      await toChatMessages([
        { role: 'developer', content: 'Rules' },
        { role: 'user', content: [{ type: 'text', text: 'Hello ' }, { type: 'text', text: 'there' }] },
        { role: 'assistant', content: 'Hi' },
      ], loadImage),
    ).toEqual([
      { role: 'system', content: 'Rules' },
      { role: 'user', content: 'Hello there' },
      { role: 'assistant', content: 'Hi' },
    ]);
  });

  it('prefers max_completion_tokens over the deprecated max_tokens and makes stop a list', () => {
    const dto = { model: 'm', messages: [], max_tokens: 10, max_completion_tokens: 20, stop: 'END', top_p: 0.5, temperature: 1 } as ChatCompletionRequestDto;
    expect(toCallParameters(dto)).toEqual({ temperature: 1, topP: 0.5, maxTokens: 20, stop: ['END'] });
    expect(toCallParameters({ ...dto, max_completion_tokens: undefined, stop: undefined })).toMatchObject({ maxTokens: 10, stop: undefined });
  });

  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['content_filter', 'content_filter'],
    ['tool_calls', 'tool_calls'],
    ['other', 'stop'],
  ] as const)('finish reason %s → %s', (ours, theirs) => {
    expect(finishReasonOf(ours)).toBe(theirs);
  });

  it('builds a chat.completion with usage totals', () => {
    expect(completionOf(head, { text: 'Hi', finishReason: 'length' }, usageOf(5, 7))).toEqual({
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', refusal: null }, finish_reason: 'length', logprobs: null }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
  });

  it('builds chunks with usage null, absent, or a usage-only last chunk', () => {
    expect(chunkOf(head, { content: 'x' }, null, null)).toEqual({
      ...head,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null, logprobs: null }],
      usage: null,
    });
    expect(chunkOf(head, {}, 'stop')).not.toHaveProperty('usage');
    expect(chunkOf(head, null, null, usageOf(1, 2))).toEqual({ ...head, object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } });
  });

  it('maps tool calls, tool results (with the called function name), images and legacy function messages', async () => {
    expect(
      await toChatMessages([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: '18°C' }] },
        { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '{}' } },
        { role: 'function', name: 'lookup', content: 'found' },
      ], loadImage),
    ).toEqual([
      {
        role: 'user',
        content: 'What is this?',
        images: [
          { mediaType: 'image/png', data: 'bytes of data:image/png;base64,iVBORw0KGgo=' },
          { mediaType: 'image/png', data: 'bytes of https://example.com/cat.png' },
        ],
      },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] },
      { role: 'tool', content: '18°C', toolCallId: 'call_1', toolName: 'get_weather' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_legacy_3', name: 'lookup', arguments: '{}' }] },
      { role: 'tool', content: 'found', toolCallId: 'call_legacy_3', toolName: 'lookup' },
    ]);
  });

  it('maps tools, tool_choice, legacy functions and response_format', () => {
    const base = { model: 'm', messages: [] } as unknown as ChatCompletionRequestDto;
    const tool = { name: 'get_weather', description: 'Weather', parameters: { type: 'object' }, strict: true };
    expect(
      toCallParameters({ ...base, tools: [{ type: 'function', function: tool }], tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false }),
    ).toMatchObject({ tools: [tool], toolChoice: { name: 'get_weather' }, parallelToolCalls: false });
    expect(toCallParameters({ ...base, functions: [{ name: 'f' }], function_call: { name: 'f' } })).toMatchObject({ tools: [{ name: 'f' }], toolChoice: { name: 'f' } });
    expect(toCallParameters({ ...base, tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'required' })).toMatchObject({ toolChoice: 'required' });
    expect(toCallParameters({ ...base, response_format: { type: 'json_object' } }).responseFormat).toEqual({ type: 'json_object' });
    expect(toCallParameters({ ...base, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } } }).responseFormat).toEqual({
      type: 'json_schema',
      name: 'x',
      schema: { type: 'object' },
      strict: true,
    });
    expect(toCallParameters({ ...base, response_format: { type: 'json_schema', json_schema: { name: 'x' } } }).responseFormat).toEqual({ type: 'json_object' });
  });

  it('answers tool calls with content null and finish_reason tool_calls, and usage details when reported', () => {
    const completion = completionOf(
      head,
      { text: '', finishReason: 'tool_calls', toolCalls: [{ id: 'call_1', name: 'f', arguments: '{}' }] },
      usageOf(5, 7, { cachedPromptTokens: 3, reasoningTokens: 2 }),
    );
    expect(completion.choices[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      finish_reason: 'tool_calls',
      logprobs: null,
    });
    expect(completion.usage).toEqual({
      prompt_tokens: 5,
      completion_tokens: 7,
      total_tokens: 12,
      prompt_tokens_details: { cached_tokens: 3 },
      completion_tokens_details: { reasoning_tokens: 2 },
    });
    expect(usageOf(1, 1)).not.toHaveProperty('prompt_tokens_details');
  });

  it('streams a tool call as OpenAI does: a head with id and name, then argument pieces', () => {
    const started = new Map<number, string>();
    expect(toolCallDeltas({ type: 'tool_call', index: 0, id: 'call_1', name: 'f', arguments: '' }, started)).toEqual([
      { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] },
    ]);
    expect(toolCallDeltas({ type: 'tool_call', index: 0, arguments: '{"a"' }, started)).toEqual([{ tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] }]);
    // A whole call in one delta (Ollama), without an id: a head with a made-up id, then its arguments.
    expect(toolCallDeltas({ type: 'tool_call', index: 1, name: 'g', arguments: '{}' }, started)).toEqual([
      { tool_calls: [{ index: 1, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'g', arguments: '' } }] },
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
    ]);
  });

  it('answers a request with legacy functions with function_call, one call only', () => {
    const started = new Map<number, string>();
    expect(toolCallDeltas({ type: 'tool_call', index: 0, id: 'call_1', name: 'f', arguments: '{}' }, started, true)).toEqual([
      { function_call: { name: 'f', arguments: '' } },
      { function_call: { arguments: '{}' } },
    ]);
    expect(toolCallDeltas({ type: 'tool_call', index: 1, id: 'call_2', name: 'g', arguments: '{}' }, started, true)).toEqual([]);
    expect(streamFinishReasonOf('tool_calls', true)).toBe('function_call');
    expect(chunkOf(head, {}, streamFinishReasonOf('tool_calls', true)).choices[0].finish_reason).toBe('function_call');
    const completion = completionOf(head, { text: '', finishReason: 'tool_calls', toolCalls: [{ id: 'x', name: 'f', arguments: '{}' }] }, usageOf(1, 1), true);
    expect(completion.choices[0]).toMatchObject({ message: { content: null, function_call: { name: 'f', arguments: '{}' } }, finish_reason: 'function_call' });
    expect(completion.choices[0].message).not.toHaveProperty('tool_calls');
    expect(toCallParameters({ model: 'm', messages: [], functions: [{ name: 'f' }] } as unknown as ChatCompletionRequestDto).parallelToolCalls).toBe(false);
  });
});
