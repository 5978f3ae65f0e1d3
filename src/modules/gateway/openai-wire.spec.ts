import { ChatCompletionRequestDto } from './gateway.dto';
import { chunkOf, completionOf, finishReasonOf, toCallParameters, toChatMessages, usageOf } from './openai-wire';

const head = { id: 'chatcmpl-1', created: 1700000000, model: 'claude-sonnet' };

describe('OpenAI wire mapping', () => {
  it('maps developer to system and joins text parts', () => {
    expect(
      toChatMessages([
        { role: 'developer', content: 'Rules' },
        { role: 'user', content: [{ type: 'text', text: 'Hello ' }, { type: 'text', text: 'there' }] },
        { role: 'assistant', content: 'Hi' },
      ]),
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
    ['other', 'stop'],
  ] as const)('finish reason %s → %s', (ours, theirs) => {
    expect(finishReasonOf(ours)).toBe(theirs);
  });

  it('builds a chat.completion with usage totals', () => {
    expect(completionOf(head, 'Hi', 'length', usageOf(5, 7))).toEqual({
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
});
