import { runInThisContext } from 'node:vm';
import { Ctx, FakeUpstream, Route } from './fake-upstream';

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
 * `/v1beta/...`); every route is served under v1, v1beta and v1alpha.
 */
export class FakeGemini extends FakeUpstream {
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
    const usageMetadata = { promptTokenCount: input, candidatesTokenCount: output, totalTokenCount: input + output };
    const response = (text: string, last: boolean) => ({
      candidates: [
        { content: { parts: [{ text }], role: 'model' }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) },
      ],
      usageMetadata: last ? usageMetadata : { promptTokenCount: input, totalTokenCount: input },
      modelVersion: model,
      responseId: 'fake-response',
    });
    if (method === 'generateContent') {
      if (this.cutInsteadOfAnswer(res)) return;
      return this.json(res, 200, response(this.tokens.join(''), true));
    }
    const tokens = this.tokens.length ? this.tokens : [''];
    this.beginStream(res);
    const done = await this.eachChunk(res, (text, i) => this.sse(res, response(text, i === tokens.length - 1)), tokens);
    if (done) res.end();
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
