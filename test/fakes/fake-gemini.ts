import { runInThisContext } from 'node:vm';
import { Ctx, FakeUpstream, Route, Script } from './fake-upstream';

export interface GeminiScript extends Script {
  /** Reported as `cachedContentTokenCount` (default: absent). */
  cachedTokens?: number;
  /** Reported as `thoughtsTokenCount` (default: absent). */
  thoughtsTokens?: number;
}

/**
 * @google/genai (on Node) sends every request through `globalThis[Symbol.for('undici.globalDispatcher.1')]`.
 * Jest runs tests in their own vm realm, where Node's undici never registered it, so every call fails with
 * "Undici globalDispatcher is not available". Share the main realm's dispatcher (no-op outside jest).
 * Runs on import of this file; call it yourself in a suite that uses the SDK without this fake.
 */
export function shareUndiciDispatcher(): void {
  const key = Symbol.for('undici.globalDispatcher.1');
  const realm = globalThis as Record<symbol, unknown>;
  if (realm[key]) return;
  new Headers(); // makes Node initialise undici
  realm[key] ??= (runInThisContext('globalThis') as Record<symbol, unknown>)[key];
}
shareUndiciDispatcher();

const STATUSES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/**
 * Gemini API. `@google/genai` 3.x calls `/v1/...` by default (older SDKs and REST docs use
 * `/v1beta/...`); every route is served under v1, v1beta and v1alpha. Scripted `toolCalls` come
 * whole, as `functionCall` parts after the text (streamed: in the last chunk), finishing with STOP
 * as Gemini does; a call scripted with an empty `id` is sent without one.
 */
export class FakeGemini extends FakeUpstream<GeminiScript> {
  protected readonly defaultModels = ['gemini-2.5-flash', 'gemini-2.5-pro'];

  protected routes(): Route[] {
    return [
      ['POST', /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(generateContent|streamGenerateContent)$/, (c) => this.generate(c)],
      ['GET', /^\/v1(?:beta|alpha)?\/models$/, ({ res }) => this.json(res, 200, { models: this.models.map(modelObject) })],
    ];
  }

  protected errorBody(status: number, message: string) {
    return { error: { code: status, message, status: STATUSES[status] ?? 'INTERNAL' } };
  }

  private async generate({ res, params: [model, method] }: Ctx): Promise<void> {
    const { input, output } = this.usage;
    const { cachedTokens, thoughtsTokens } = this.cfg;
    const usageMetadata = {
      promptTokenCount: input,
      candidatesTokenCount: output,
      totalTokenCount: input + output + (thoughtsTokens ?? 0),
      ...(cachedTokens !== undefined ? { cachedContentTokenCount: cachedTokens } : {}),
      ...(thoughtsTokens !== undefined ? { thoughtsTokenCount: thoughtsTokens } : {}),
    };
    const calls = (this.cfg.toolCalls ?? []).map(({ id, name, arguments: args }) => ({
      functionCall: { ...(id ? { id } : {}), name, args: JSON.parse(args || '{}') },
    }));
    const response = (parts: object[], last: boolean) => ({
      candidates: [{ content: { parts, role: 'model' }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
      usageMetadata: last ? usageMetadata : { promptTokenCount: input, totalTokenCount: input },
      modelVersion: model,
      responseId: 'fake-response',
    });
    if (method === 'generateContent') {
      if (this.cutInsteadOfAnswer(res)) return;
      const text = this.tokens.join('');
      return this.json(res, 200, response([...(text || !calls.length ? [{ text }] : []), ...calls], true));
    }
    const tokens = this.tokens.length || calls.length ? this.tokens : [''];
    this.beginStream(res);
    const done = await this.eachChunk(
      res,
      (text, i) => this.sse(res, response([{ text }], !calls.length && i === tokens.length - 1)),
      tokens,
    );
    if (!done) return;
    if (calls.length) this.sse(res, response(calls, true));
    res.end();
  }
}

const modelObject = (id: string) => ({
  name: `models/${id}`,
  version: '001',
  displayName: id.replace(/-/g, ' '),
  description: `Fake ${id}`,
  inputTokenLimit: 1048576,
  outputTokenLimit: 65536,
  supportedGenerationMethods: ['generateContent', 'countTokens'],
});
