import { AppException } from '../../../common/errors/app.exception';
import { OllamaProvider, toOllamaMessage, toOllamaTool } from './ollama.provider';

describe('OllamaProvider mapping', () => {
  it('sends tool calls with their arguments as objects, tool results with the function name, images as base64', () => {
    expect(toOllamaMessage({ role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'f', arguments: '{"a":1}' }] })).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }],
    });
    // Arguments that are not a JSON object are kept whole rather than lost.
    expect(toOllamaMessage({ role: 'assistant', content: '', toolCalls: [{ id: 'c', name: 'f', arguments: 'oops' }] }).tool_calls).toEqual([
      { function: { name: 'f', arguments: { input: 'oops' } } },
    ]);
    expect(toOllamaMessage({ role: 'tool', content: '18°C', toolCallId: 'call_1', toolName: 'f' })).toEqual({ role: 'tool', content: '18°C', tool_name: 'f' });
    expect(toOllamaMessage({ role: 'user', content: 'see', images: [{ mediaType: 'image/png', data: 'AAAA' }] })).toEqual({ role: 'user', content: 'see', images: ['AAAA'] });
    expect(toOllamaTool({ name: 'f', description: 'd', parameters: { type: 'object' }, strict: true })).toEqual({
      type: 'function',
      function: { name: 'f', description: 'd', parameters: { type: 'object' } },
    });
  });

  it.each(['required', { name: 'f' }] as const)('refuses tool_choice %j with a 400 naming tool_choice, before calling Ollama', async (toolChoice) => {
    const provider = new OllamaProvider('http://127.0.0.1:9');
    const stream = provider.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'f' }], toolChoice }, new AbortController().signal);
    const error = await stream[Symbol.asyncIterator]().next().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppException);
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR', details: { fields: { tool_choice: [expect.any(String)] } } });
  });
});
