import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { CompletionRequest, CompletionResult, DiscoveredModel, FinishReason, ModelProvider, StreamChunk } from '../model-provider';

export interface OpenAICompatibleEndpoint {
  name: string;
  baseUrl?: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length', content_filter: 'content_filter' };

/**
 * OpenAI itself and any OpenAI-compatible server (vLLM, LM Studio, OpenRouter, Together…),
 * one instance per configured endpoint, on the official `openai` SDK.
 */
export class OpenAIProvider extends ModelProvider {
  readonly kind = 'openai' as const;
  readonly features = { tools: false, responseFormat: false, images: false };

  constructor(private readonly endpoint: OpenAICompatibleEndpoint) {
    super();
  }

  get name(): string {
    return this.endpoint.name;
  }

  private client(apiKey: string | undefined): OpenAI {
    return this.cachedClient(apiKey, () => new OpenAI({
      // Local OpenAI-compatible servers often need no key; the SDK insists on one.
      apiKey: apiKey ?? this.endpoint.apiKey ?? 'not-needed',
      baseURL: this.endpoint.baseUrl,
      defaultHeaders: this.endpoint.headers,
      maxRetries: 0, // the registry retries, before the first token only
    }));
  }

  async listModels(apiKey: string | undefined, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    for await (const model of this.client(apiKey).models.list({ signal })) models.push({ name: model.id });
    return models;
  }

  private body(request: CompletionRequest) {
    return {
      model: request.model,
      messages: request.messages as ChatCompletionMessageParam[],
      temperature: request.temperature,
      max_completion_tokens: request.maxTokens,
      top_p: request.topP,
      stop: request.stop,
    };
  }

  /** A non-streaming call upstream: one JSON answer, no stream to take apart and put back together. */
  override async complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    const answer = await this.client(request.apiKey).chat.completions.create({ ...this.body(request), stream: false }, { signal });
    const choice = answer.choices[0];
    return {
      text: choice?.message?.content ?? '',
      finishReason: (choice?.finish_reason && FINISH[choice.finish_reason]) || 'other',
      usage: { inputTokens: answer.usage?.prompt_tokens ?? 0, outputTokens: answer.usage?.completion_tokens ?? 0 },
    };
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const stream = await this.client(request.apiKey).chat.completions.create(
      {
        ...this.body(request),
        stream: true,
        stream_options: { include_usage: true },
      },
      { signal },
    );
    let finishReason: FinishReason = 'other';
    let usage = { inputTokens: 0, outputTokens: 0 };
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) yield { type: 'text', text: choice.delta.content };
      if (choice?.finish_reason) finishReason = FINISH[choice.finish_reason] ?? 'other';
      if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
    }
    yield { type: 'done', finishReason, usage };
  }
}
