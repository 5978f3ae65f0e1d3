import OpenAI from 'openai';
import type {
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import {
  ChatMessage,
  CompletionRequest,
  CompletionResult,
  DiscoveredModel,
  FinishReason,
  ModelProvider,
  ResponseFormat,
  StreamChunk,
  TokenUsage,
  ToolChoice,
  ToolDefinition,
} from '../model-provider';

export interface OpenAICompatibleEndpoint {
  name: string;
  baseUrl?: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length', content_filter: 'content_filter', tool_calls: 'tool_calls', function_call: 'tool_calls' };

/** Our messages in OpenAI's format: images as data: URL parts, tool calls and their results. */
export function toOpenAIMessage(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'system':
      return { role: 'system', content: m.content };
    case 'user': {
      if (!m.images?.length) return { role: 'user', content: m.content };
      const parts: ChatCompletionContentPart[] = m.content ? [{ type: 'text', text: m.content }] : [];
      for (const image of m.images) parts.push({ type: 'image_url', image_url: { url: `data:${image.mediaType};base64,${image.data}` } });
      return { role: 'user', content: parts };
    }
    case 'assistant':
      if (!m.toolCalls?.length) return { role: 'assistant', content: m.content };
      return {
        role: 'assistant',
        content: m.content || null,
        tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content };
  }
}

export function toOpenAITool(tool: ToolDefinition): ChatCompletionFunctionTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      ...(tool.parameters !== undefined ? { parameters: tool.parameters } : {}),
      ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
    },
  };
}

function toOpenAIToolChoice(choice: ToolChoice): ChatCompletionToolChoiceOption {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function toOpenAIResponseFormat(format: ResponseFormat): ChatCompletionCreateParamsBase['response_format'] {
  if (format.type !== 'json_schema') return { type: format.type };
  const { name, schema, description, strict } = format;
  return { type: 'json_schema', json_schema: { name, schema, ...(description !== undefined ? { description } : {}), ...(strict !== undefined ? { strict } : {}) } };
}

/** OpenAI's usage with its cached-prompt and reasoning details, when reported. */
function usageOf(usage: CompletionUsage | null | undefined): TokenUsage {
  const cached = usage?.prompt_tokens_details?.cached_tokens;
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens;
  return {
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    ...(cached !== undefined ? { cachedInputTokens: cached } : {}),
    ...(reasoning !== undefined ? { reasoningTokens: reasoning } : {}),
  };
}

/**
 * OpenAI itself and any OpenAI-compatible server (vLLM, LM Studio, OpenRouter, Together…),
 * one instance per configured endpoint, on the official `openai` SDK.
 */
export class OpenAIProvider extends ModelProvider {
  readonly kind = 'openai' as const;
  readonly features = { tools: true, responseFormat: true, images: true };

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
    const tools = request.tools?.length ? request.tools : undefined;
    return {
      model: request.model,
      messages: request.messages.map(toOpenAIMessage),
      temperature: request.temperature,
      max_completion_tokens: request.maxTokens,
      top_p: request.topP,
      stop: request.stop,
      // OpenAI refuses tool_choice and parallel_tool_calls without tools.
      tools: tools?.map(toOpenAITool),
      tool_choice: tools && request.toolChoice ? toOpenAIToolChoice(request.toolChoice) : undefined,
      parallel_tool_calls: tools ? request.parallelToolCalls : undefined,
      response_format: request.responseFormat ? toOpenAIResponseFormat(request.responseFormat) : undefined,
    };
  }

  /** A non-streaming call upstream: one JSON answer, no stream to take apart and put back together. */
  override async complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    const answer = await this.client(request.apiKey).chat.completions.create({ ...this.body(request), stream: false }, { signal });
    const choice = answer.choices[0];
    const toolCalls = (choice?.message?.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments }] : []));
    return {
      text: choice?.message?.content ?? '',
      finishReason: (choice?.finish_reason && FINISH[choice.finish_reason]) || 'other',
      usage: usageOf(answer.usage),
      ...(toolCalls.length ? { toolCalls } : {}),
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
    let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) yield { type: 'text', text: choice.delta.content };
      for (const call of choice?.delta?.tool_calls ?? []) {
        yield {
          type: 'tool_call',
          index: call.index,
          ...(call.id ? { id: call.id } : {}),
          ...(call.function?.name ? { name: call.function.name } : {}),
          arguments: call.function?.arguments ?? '',
        };
      }
      if (choice?.finish_reason) finishReason = FINISH[choice.finish_reason] ?? 'other';
      if (chunk.usage) usage = usageOf(chunk.usage);
    }
    yield { type: 'done', finishReason, usage };
  }
}
