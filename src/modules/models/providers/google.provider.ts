import { Content, FinishReason as GeminiFinishReason, GoogleGenAI } from '@google/genai';
import { CompletionRequest, DiscoveredModel, FinishReason, ModelProvider, StreamChunk } from '../model-provider';

const FINISH: Partial<Record<GeminiFinishReason, FinishReason>> = {
  [GeminiFinishReason.STOP]: 'stop',
  [GeminiFinishReason.MAX_TOKENS]: 'length',
  [GeminiFinishReason.SAFETY]: 'content_filter',
  [GeminiFinishReason.PROHIBITED_CONTENT]: 'content_filter',
};

/** Gemini models on the official `@google/genai` SDK. */
export class GoogleProvider extends ModelProvider {
  readonly kind = 'google' as const;
  readonly name = 'google';
  readonly features = { tools: false, responseFormat: false, images: false };

  constructor(private readonly baseUrl: string | undefined) {
    super();
  }

  private client(apiKey: string | undefined): GoogleGenAI {
    return this.cachedClient(apiKey, () => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: this.baseUrl } }));
  }

  async listModels(apiKey: string | undefined, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const pager = await this.client(apiKey).models.list({ config: { abortSignal: signal } });
    const models: DiscoveredModel[] = [];
    for await (const model of pager) {
      models.push({ name: (model.name ?? '').replace(/^models\//, ''), displayName: model.displayName, contextLength: model.inputTokenLimit });
    }
    return models;
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const systemInstruction = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const contents: Content[] = request.messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
    const stream = await this.client(request.apiKey).models.generateContentStream({
      model: request.model,
      contents,
      config: {
        systemInstruction: systemInstruction || undefined,
        temperature: request.temperature,
        maxOutputTokens: request.maxTokens,
        topP: request.topP,
        stopSequences: request.stop,
        abortSignal: signal,
      },
    });
    let finishReason: FinishReason = 'other';
    const usage = { inputTokens: 0, outputTokens: 0 };
    for await (const response of stream) {
      const text = response.candidates?.[0]?.content?.parts?.map((p) => p.text ?? '').join('') ?? '';
      if (text) yield { type: 'text', text };
      const reason = response.candidates?.[0]?.finishReason;
      if (reason) finishReason = FINISH[reason] ?? 'other';
      if (response.usageMetadata) {
        usage.inputTokens = response.usageMetadata.promptTokenCount ?? usage.inputTokens;
        usage.outputTokens = response.usageMetadata.candidatesTokenCount ?? usage.outputTokens;
      }
    }
    yield { type: 'done', finishReason, usage };
  }
}
