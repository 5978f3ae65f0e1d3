import { Ctx, FakeUpstream, Route, Script } from './fake-upstream';

export interface OpenAIScript extends Script {
  /** Usage details OpenAI reports: prompt tokens served from its cache, completion tokens spent reasoning. */
  usageDetails?: { cached?: number; reasoning?: number };
}

const ERROR_KINDS: Record<number, [type: string, code: string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['invalid_request_error', 'unsupported_country_region_territory'],
  404: ['invalid_request_error', 'model_not_found'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', null],
  503: ['server_error', 'service_unavailable'],
};

/**
 * OpenAI Chat Completions, and any "OpenAI-compatible" server: routes match on the path's end,
 * so the base URL may be `url + '/v1'` or any other prefix (`/openai/v1`, `/api/v1`...).
 */
export class FakeOpenAI extends FakeUpstream<OpenAIScript> {
  protected readonly defaultModels = ['gpt-4o-mini', 'gpt-4o'];
  private seq = 0;

  protected routes(): Route[] {
    return [
      ['POST', /\/chat\/completions$/, (ctx) => this.chat(ctx)],
      ['GET', /\/models$/, ({ res }) => this.json(res, 200, { object: 'list', data: this.models.map(modelObject) })],
    ];
  }

  protected errorBody(status: number, message: string) {
    const [type, code] = ERROR_KINDS[status] ?? ERROR_KINDS[500];
    return { error: { message, type, param: null, code } };
  }

  private async chat({ res, body }: Ctx): Promise<void> {
    const id = `chatcmpl-fake${++this.seq}`;
    const created = Math.floor(Date.now() / 1000);
    const model = body?.model ?? 'gpt-4o-mini';
    const { input, output } = this.usage;
    const details = this.cfg.usageDetails;
    const usage = {
      prompt_tokens: input,
      completion_tokens: output,
      total_tokens: input + output,
      ...(details?.cached !== undefined ? { prompt_tokens_details: { cached_tokens: details.cached, audio_tokens: 0 } } : {}),
      ...(details?.reasoning !== undefined ? { completion_tokens_details: { reasoning_tokens: details.reasoning, audio_tokens: 0 } } : {}),
    };
    const calls = this.cfg.toolCalls ?? [];
    const finishReason = calls.length ? 'tool_calls' : 'stop';
    if (!body?.stream) {
      if (this.cutInsteadOfAnswer(res)) return;
      const text = this.tokens.join('');
      const message = {
        role: 'assistant',
        content: calls.length && !text ? null : text,
        refusal: null,
        ...(calls.length ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
      };
      const choice = { index: 0, message, logprobs: null, finish_reason: finishReason };
      return this.json(res, 200, { id, object: 'chat.completion', created, model, choices: [choice], usage });
    }
    const withUsage = !!body.stream_options?.include_usage;
    const chunk = (choices: unknown[], extra: object = {}) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_fake',
      choices,
      ...(withUsage ? { usage: null } : {}),
      ...extra,
    });
    this.beginStream(res);
    const done = await this.eachChunk(res, (content, i) => {
      const delta = i === 0 ? { role: 'assistant', content } : { content };
      this.sse(res, chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]));
    });
    if (!done) return;
    // Tool calls as OpenAI streams them: id, type and name with empty arguments, then the arguments in pieces.
    for (const [index, call] of calls.entries()) {
      const first = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
      const delta = !this.tokens.length && index === 0 ? { role: 'assistant', content: null, tool_calls: [first] } : { tool_calls: [first] };
      this.sse(res, chunk([{ index: 0, delta, logprobs: null, finish_reason: null }]));
      for (const piece of fragments(call.arguments)) {
        this.sse(res, chunk([{ index: 0, delta: { tool_calls: [{ index, function: { arguments: piece } }] }, logprobs: null, finish_reason: null }]));
      }
    }
    this.sse(res, chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason }]));
    if (withUsage) this.sse(res, chunk([], { usage }));
    this.sse(res, '[DONE]');
    res.end();
  }
}

/** Arguments JSON in 2 or 3 pieces, as a model writes them a few tokens at a time. */
export function fragments(text: string): string[] {
  if (text.length < 2) return text ? [text] : [];
  const parts = text.length < 6 ? 2 : 3;
  const size = Math.ceil(text.length / parts);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const modelObject = (id: string) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake' });
