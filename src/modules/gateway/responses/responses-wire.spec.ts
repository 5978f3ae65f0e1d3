import { AppException } from '../../../common/errors/app.exception';
import {
  EchoParams,
  ResponseEventStream,
  contextOfOutput,
  itemId,
  newResponseId,
  outputOf,
  parseInput,
  parseTextConfig,
  parseToolChoice,
  parseTools,
  responseIdOfItem,
  responseOf,
  toCallParameters,
  toChatMessages,
  usageOf,
} from './responses-wire';

const PNG = 'data:image/png;base64,iVBORw0KGgo=';

const params = (over: Partial<EchoParams> = {}): EchoParams => ({
  instructions: null,
  tools: [],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  temperature: null,
  top_p: null,
  max_output_tokens: null,
  text: { format: { type: 'text' } },
  previous_response_id: null,
  store: true,
  metadata: null,
  ...over,
});

/** The field a 400 names, from the thrown AppException. */
function paramOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppException);
    return Object.keys(((error as AppException).details as { fields: Record<string, string[]> }).fields)[0];
  }
  throw new Error('expected a validation error');
}

describe('Responses wire: input', () => {
  it('reads a string as one user message and every supported item kind', () => {
    expect(parseInput('hi')).toEqual([{ type: 'message', role: 'user', content: 'hi' }]);
    expect(
      parseInput([
        { role: 'developer', content: 'Rules' },
        { role: 'user', content: [{ type: 'input_text', text: 'Look ' }, { type: 'input_image', image_url: PNG, detail: 'low' }] },
        { type: 'message', role: 'assistant', id: 'msg_1', status: 'completed', content: [{ type: 'output_text', text: 'A cat', annotations: [] }] },
        { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}', id: 'fc_1', status: 'completed' },
        { type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: 'sunny' }] },
        { type: 'item_reference', id: 'msg_x' },
        { id: 'msg_y' },
      ]),
    ).toEqual([
      { type: 'message', role: 'developer', content: 'Rules' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look ' }, { type: 'input_image', detail: 'auto', image_url: PNG }] },
      { type: 'message', role: 'assistant', content: 'A cat' },
      { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
      { type: 'item_reference', id: 'msg_x' },
      { type: 'item_reference', id: 'msg_y' },
    ]);
  });

  it.each([
    [42, 'input'],
    [[{ role: 'tool', content: 'x' }], 'input.0.role'],
    [[{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }], 'input.0.content.0.type'],
    [[{ role: 'user', content: [{ type: 'input_image', image_url: 'file:///etc/passwd' }] }], 'input.0.content.0.image_url'],
    [[{ role: 'assistant', content: [{ type: 'input_image', image_url: PNG }] }], 'input.0.content.0'],
    [[{ type: 'function_call', name: 'f', arguments: '{}' }], 'input.0.call_id'],
    [[{ type: 'web_search_call', id: 'ws_1' }], 'input.0.type'],
    [['hi'], 'input.0'],
  ])('refuses %j naming %s', (input, param) => {
    expect(paramOf(() => parseInput(input))).toBe(param);
  });

  it('turns items into chat messages: instructions first, calls joined to their assistant turn, outputs carry the name', async () => {
    const loadImage = async (url: string) => ({ mediaType: 'image/png', data: `bytes of ${url}` });
    const messages = await toChatMessages('Be brief.', [
      { type: 'message', role: 'developer', content: 'Rules' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather? ' }, { type: 'input_image', detail: 'auto', image_url: PNG }] },
      { type: 'message', role: 'assistant', content: 'Let me look.' },
      { type: 'function_call', call_id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call', call_id: 'c2', name: 'time', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      { type: 'function_call_output', call_id: 'c2', output: 'noon' },
      { type: 'function_call', call_id: 'c3', name: 'weather', arguments: '{}' },
    ], loadImage);
    expect(messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'Rules' },
      { role: 'user', content: 'Weather? ', images: [{ mediaType: 'image/png', data: `bytes of ${PNG}` }] },
      {
        role: 'assistant',
        content: 'Let me look.',
        toolCalls: [
          { id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
          { id: 'c2', name: 'time', arguments: '{}' },
        ],
      },
      { role: 'tool', content: 'sunny', toolCallId: 'c1', toolName: 'weather' },
      { role: 'tool', content: 'noon', toolCallId: 'c2', toolName: 'time' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c3', name: 'weather', arguments: '{}' }] },
    ]);
  });

  it('refuses a function output whose call is nowhere in the conversation', async () => {
    const refused = toChatMessages(null, [{ type: 'function_call_output', call_id: 'nope', output: 'x' }], async () => ({ mediaType: 'image/png', data: '' }));
    await expect(refused).rejects.toMatchObject({ details: { fields: { input: [expect.any(String)] } } });
  });

  it('feeds output items back as input', () => {
    expect(contextOfOutput({ type: 'message', id: 'm', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hi', annotations: [] }] })).toEqual({
      type: 'message',
      role: 'assistant',
      content: 'Hi',
    });
    expect(contextOfOutput({ type: 'function_call', id: 'f', call_id: 'c', name: 'n', arguments: '{}', status: 'completed' })).toEqual({
      type: 'function_call',
      call_id: 'c',
      name: 'n',
      arguments: '{}',
    });
  });

  it('item ids name their response', () => {
    const id = newResponseId();
    expect(id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(responseIdOfItem(itemId(id, 'msg', 0))).toBe(id);
    expect(responseIdOfItem(itemId(id, 'fc', 3))).toBe(id);
    expect(responseIdOfItem('msg_abc')).toBeUndefined();
  });
});

describe('Responses wire: parameters', () => {
  it('takes function tools and refuses others naming tools', () => {
    expect(parseTools([{ type: 'function', name: 'weather', parameters: { type: 'object' } }])).toEqual([
      { type: 'function', name: 'weather', description: null, parameters: { type: 'object' }, strict: null },
    ]);
    expect(paramOf(() => parseTools([{ type: 'web_search' }]))).toBe('tools');
    expect(paramOf(() => parseTools([{ type: 'function', name: 'bad name' }]))).toBe('tools');
    expect(paramOf(() => parseTools('x'))).toBe('tools');
  });

  it('reads tool_choice and text.format', () => {
    const tools = parseTools([{ type: 'function', name: 'weather' }]);
    expect(parseToolChoice(undefined, tools)).toBe('auto');
    expect(parseToolChoice('required', tools)).toBe('required');
    expect(parseToolChoice({ type: 'function', name: 'weather' }, tools)).toEqual({ type: 'function', name: 'weather' });
    expect(paramOf(() => parseToolChoice({ type: 'function', name: 'other' }, tools))).toBe('tool_choice');
    expect(paramOf(() => parseToolChoice({ type: 'web_search_preview' }, tools))).toBe('tool_choice');
    expect(parseTextConfig(undefined)).toEqual({ format: { type: 'text' } });
    expect(parseTextConfig({ format: { type: 'json_schema', name: 'person', schema: { type: 'object' }, strict: true }, verbosity: 'low' })).toEqual({
      format: { type: 'json_schema', name: 'person', schema: { type: 'object' }, strict: true },
    });
    expect(paramOf(() => parseTextConfig({ format: { type: 'json_schema', name: 'x' } }))).toBe('text.format.schema');
    expect(paramOf(() => parseTextConfig({ format: { type: 'yaml' } }))).toBe('text.format.type');
  });

  it('maps settings to call parameters', () => {
    const tools = parseTools([{ type: 'function', name: 'weather', description: 'Weather', parameters: { type: 'object' }, strict: true }]);
    expect(
      toCallParameters(
        params({
          tools,
          tool_choice: { type: 'function', name: 'weather' },
          parallel_tool_calls: false,
          temperature: 0.2,
          top_p: 0.9,
          max_output_tokens: 50,
          text: { format: { type: 'json_schema', name: 'p', schema: { type: 'object' } } },
        }),
        true,
      ),
    ).toEqual({
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 50,
      tools: [{ name: 'weather', description: 'Weather', parameters: { type: 'object' }, strict: true }],
      toolChoice: { name: 'weather' },
      parallelToolCalls: false,
      responseFormat: { type: 'json_schema', name: 'p', schema: { type: 'object' } },
    });
    expect(toCallParameters(params(), false)).toEqual({ temperature: undefined, topP: undefined, maxTokens: undefined, responseFormat: undefined });
  });
});

describe('Responses wire: output', () => {
  const head = { id: 'resp_' + 'a'.repeat(48), created_at: 1700000000, model: 'claude-sonnet' };

  it('builds a Response with text, calls, usage and the echoed settings', () => {
    const output = outputOf(head.id, 'Checking.', [{ id: 'call_1', name: 'weather', arguments: '{}' }], 'completed');
    const response = responseOf(head, params({ instructions: 'Be brief.' }), {
      status: 'completed',
      output,
      usage: usageOf({ inputTokens: 12, outputTokens: 4, cachedInputTokens: 2 }),
    });
    expect(response).toMatchObject({
      id: head.id,
      object: 'response',
      status: 'completed',
      error: null,
      incomplete_details: null,
      instructions: 'Be brief.',
      output_text: 'Checking.',
      output: [
        { type: 'message', id: `msg_${'a'.repeat(48)}_0`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', id: `fc_${'a'.repeat(48)}_1`, call_id: 'call_1', name: 'weather', arguments: '{}', status: 'completed' },
      ],
      usage: { input_tokens: 12, output_tokens: 4, total_tokens: 16, input_tokens_details: { cached_tokens: 2 }, output_tokens_details: { reasoning_tokens: 0 } },
      tools: [],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      text: { format: { type: 'text' } },
    });
    // Only calls: no empty message.
    expect(outputOf(head.id, '', [{ id: 'c', name: 'n', arguments: '{}' }], 'completed').map((i) => i.type)).toEqual(['function_call']);
    expect(outputOf(head.id, '', undefined, 'completed').map((i) => i.type)).toEqual(['message']);
  });

  it('streams events in the documented order with increasing sequence numbers', () => {
    const stream = new ResponseEventStream(head, params());
    const events = [
      ...stream.start(),
      ...stream.push({ type: 'text', text: 'Let me ' }),
      ...stream.push({ type: 'text', text: 'check.' }),
      ...stream.push({ type: 'tool_call', index: 0, id: 'call_1', name: 'weather', arguments: '{"ci' }),
      ...stream.push({ type: 'tool_call', index: 0, arguments: 'ty":"Paris"}' }),
      ...stream.push({ type: 'tool_call', index: 1, id: 'call_2', name: 'time', arguments: '{}' }),
    ];
    const finished = stream.finish('tool_calls', { inputTokens: 10, outputTokens: 5 });
    events.push(...finished.events);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ response: { status: 'in_progress', output: [] } });
    expect(events[6]).toMatchObject({ text: 'Let me check.', output_index: 0, content_index: 0 });
    expect(events[12]).toMatchObject({ arguments: '{"city":"Paris"}', output_index: 1 });
    expect(finished.response).toMatchObject({
      status: 'completed',
      output_text: 'Let me check.',
      output: [
        { type: 'message', status: 'completed', content: [{ type: 'output_text', text: 'Let me check.' }] },
        { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}', status: 'completed' },
        { type: 'function_call', call_id: 'call_2', name: 'time', arguments: '{}', status: 'completed' },
      ],
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
    });
  });

  it('ends with response.incomplete on length and response.failed on an error', () => {
    const long = new ResponseEventStream(head, params());
    long.start();
    long.push({ type: 'text', text: 'cut' });
    const incomplete = long.finish('length', { inputTokens: 1, outputTokens: 1 });
    expect(incomplete.events.at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
    expect(incomplete.response.output[0]).toMatchObject({ status: 'incomplete' });

    const failing = new ResponseEventStream(head, params());
    failing.start();
    failing.push({ type: 'text', text: 'part' });
    const failed = failing.fail({ code: 'PROVIDER_UNAVAILABLE', message: 'down' });
    expect(failed.events).toEqual([
      expect.objectContaining({
        type: 'response.failed',
        sequence_number: 5,
        response: expect.objectContaining({
          status: 'failed',
          error: { code: 'server_error', message: 'down' },
          output: [expect.objectContaining({ status: 'incomplete', content: [{ type: 'output_text', text: 'part', annotations: [] }] })],
        }),
      }),
    ]);
  });
});
