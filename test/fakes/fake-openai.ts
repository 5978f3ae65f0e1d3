import { Ctx, FakeUpstream, Route } from './fake-upstream';

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
export class FakeOpenAI extends FakeUpstream {
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
    const usage = { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
    if (!body?.stream) {
      if (this.cutInsteadOfAnswer(res)) return;
      const message = { role: 'assistant', content: this.tokens.join(''), refusal: null };
      const choice = { index: 0, message, logprobs: null, finish_reason: 'stop' };
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
    this.sse(res, chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
    if (withUsage) this.sse(res, chunk([], { usage }));
    this.sse(res, '[DONE]');
    res.end();
  }
}

const modelObject = (id: string) => ({ id, object: 'model', created: 1700000000, owned_by: 'fake' });
