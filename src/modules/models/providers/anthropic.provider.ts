import Anthropic from '@anthropic-ai/sdk';
import { CompletionRequest, DiscoveredModel, FinishReason, ModelProvider, StreamChunk } from '../model-provider';

const FINISH: Record<string, FinishReason> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', refusal: 'content_filter' };
/** Anthropic requires max_tokens; used when the caller sets none. */
const DEFAULT_MAX_TOKENS = 4096;

/** Claude models on the official `@anthropic-ai/sdk`. */
export class AnthropicProvider extends ModelProvider {
  readonly kind = 'anthropic' as const;
  readonly name = 'anthropic';
  readonly features = { tools: false, responseFormat: false, images: false };

  constructor(private readonly baseUrl: string | undefined) {
    super();
  }

  private client(apiKey: string | undefined): Anthropic {
    return this.cachedClient(apiKey, () => new Anthropic({ apiKey: apiKey ?? null, baseURL: this.baseUrl, maxRetries: 0 }));
  }

  async listModels(apiKey: string | undefined, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    for await (const model of this.client(apiKey).models.list({}, { signal })) models.push({ name: model.id, displayName: model.display_name });
    return models;
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    // Anthropic takes the system prompt beside the conversation, not in it.
    const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const messages = request.messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
    const stream = await this.client(request.apiKey).messages.create(
      {
        model: request.model,
        system: system || undefined,
        messages,
        // The Messages API of this SDK generation no longer takes `temperature` or `top_p`: dropped.
        max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
        stop_sequences: request.stop,
        stream: true,
      },
      { signal },
    );
    let finishReason: FinishReason = 'other';
    const usage = { inputTokens: 0, outputTokens: 0 };
    for await (const event of stream) {
      if (event.type === 'message_start') usage.inputTokens = event.message.usage.input_tokens;
      else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') yield { type: 'text', text: event.delta.text };
      else if (event.type === 'message_delta') {
        if (event.delta.stop_reason) finishReason = FINISH[event.delta.stop_reason] ?? 'other';
        usage.outputTokens = event.usage.output_tokens;
      }
    }
    yield { type: 'done', finishReason, usage };
  }
}
