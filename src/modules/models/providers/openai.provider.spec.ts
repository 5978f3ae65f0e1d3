import { toOpenAIMessage, toOpenAITool } from './openai.provider';

describe('OpenAIProvider mapping', () => {
  it('sends images as data: URL parts, tool calls and tool results in OpenAI form', () => {
    expect(toOpenAIMessage({ role: 'user', content: 'see', images: [{ mediaType: 'image/png', data: 'AAAA' }] })).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'see' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
      ],
    });
    expect(toOpenAIMessage({ role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'f', arguments: '{}' }] })).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
    });
    expect(toOpenAIMessage({ role: 'tool', content: 'ok', toolCallId: 'call_1', toolName: 'f' })).toEqual({ role: 'tool', tool_call_id: 'call_1', content: 'ok' });
    expect(toOpenAIMessage({ role: 'user', content: 'hi' })).toEqual({ role: 'user', content: 'hi' });
    expect(toOpenAITool({ name: 'f', strict: true })).toEqual({ type: 'function', function: { name: 'f', strict: true } });
  });
});
