import { Ctx, FakeUpstream, Route, Script } from './fake-upstream';

export interface AnthropicScript extends Script {
  /** Reported as `cache_read_input_tokens` (default 0). */
  cacheReadTokens?: number;
}

/** A call's arguments in up to three `partial_json` pieces, as Anthropic streams them. */
const fragments = (text: string): string[] => {
  const size = Math.max(1, Math.ceil(text.length / 3));
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
};

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

/**
 * Anthropic Messages API: POST /v1/messages (JSON or SSE), GET /v1/models. Scripted `toolCalls`
 * come after the text as `tool_use` blocks, with stop reason `tool_use`.
 */
export class FakeAnthropic extends FakeUpstream<AnthropicScript> {
  protected readonly defaultModels = ['claude-sonnet-5-5', 'claude-haiku-5-5'];
  private seq = 0;

  protected routes(): Route[] {
    return [
      ['POST', /^\/v1\/messages$/, (ctx) => this.messages(ctx)],
      ['GET', /^\/v1\/models$/, ({ res }) => this.listModels(res)],
    ];
  }

  protected errorBody(status: number, message: string) {
    return { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message } };
  }

  private listModels(res: Ctx['res']): void {
    const data = this.models.map((id) => ({
      id,
      type: 'model',
      display_name: id.replace(/-/g, ' '),
      created_at: '2025-01-01T00:00:00Z',
    }));
    this.json(res, 200, { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  }

  private async messages({ res, body }: Ctx): Promise<void> {
    const { input, output } = this.usage;
    const toolCalls = this.cfg.toolCalls ?? [];
    const stopReason = toolCalls.length ? 'tool_use' : 'end_turn';
    // A tool-only answer has no text block, as Anthropic answers it.
    const hasText = this.tokens.length > 0 || !toolCalls.length;
    const message = {
      id: `msg_fake${++this.seq}`,
      type: 'message',
      role: 'assistant',
      model: body?.model ?? 'claude-sonnet-5-5',
      content: [] as unknown[],
      stop_reason: null as string | null,
      stop_sequence: null,
      usage: { input_tokens: input, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: this.cfg.cacheReadTokens ?? 0 },
    };
    if (!body?.stream) {
      if (this.cutInsteadOfAnswer(res)) return;
      const content: unknown[] = hasText ? [{ type: 'text', text: this.tokens.join('') }] : [];
      for (const call of toolCalls) content.push({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.arguments || '{}') });
      return this.json(res, 200, {
        ...message,
        content,
        stop_reason: stopReason,
        usage: { ...message.usage, output_tokens: output },
      });
    }
    const event = (type: string, data: object = {}) => this.sse(res, { type, ...data }, type);
    this.beginStream(res);
    event('message_start', { message });
    if (hasText) event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    event('ping');
    const done = await this.eachChunk(res, (text) =>
      event('content_block_delta', { index: 0, delta: { type: 'text_delta', text } }),
    );
    if (!done) return;
    if (hasText) event('content_block_stop', { index: 0 });
    toolCalls.forEach((call, i) => {
      const index = i + (hasText ? 1 : 0);
      event('content_block_start', { index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } });
      for (const partial_json of ['', ...fragments(call.arguments)]) {
        event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
      }
      event('content_block_stop', { index });
    });
    event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: output } });
    event('message_stop');
    res.end();
  }
}
