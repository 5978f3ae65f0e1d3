import { HttpStatus } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { LRUCache } from 'lru-cache';
import type { KeyVerification } from '../profile/key-verifier';

/** Providers Parley speaks to; each has one strategy class. */
export type ProviderKind = 'openai' | 'anthropic' | 'google' | 'ollama' | 'demo';

/** A function the model may call; `parameters` is a JSON Schema object. */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  /** OpenAI's strict schema adherence; other providers ignore it. */
  strict?: boolean;
}

/** `auto` (the model decides), `none`, `required` (some tool), or that one tool. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** A call the model made: `arguments` is the JSON text it wrote, as OpenAI carries it. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The shape the answer must take (OpenAI's `response_format`, provider-neutral). */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: Record<string, unknown>; description?: string; strict?: boolean };

/** An image in a user message: inline bytes (base64) with their media type. */
export interface ImageInput {
  mediaType: string;
  data: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  /** The text (for `tool`, the tool's result; for an assistant that only called tools, empty). */
  content: string;
  /** Images of a user message, after its text. */
  images?: ImageInput[];
  /** The calls an assistant message made. */
  toolCalls?: ToolCall[];
  /** For `tool`: the call this result answers, and that call's function name (Gemini matches by name). */
  toolCallId?: string;
  toolName?: string;
}

export interface CompletionRequest {
  /** The provider's own model name (e.g. `gpt-4o-mini`, `llama3.2:1b`). */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  /** Nucleus sampling; dropped by providers whose API no longer takes it (Anthropic). */
  topP?: number;
  /** Sequences that end the answer (at most 4, as OpenAI allows). */
  stop?: string[];
  /** The key to call with: the user's own, or the server's; undefined for keyless providers. */
  apiKey?: string;
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** false: at most one tool call per answer. */
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens the provider served from its prompt cache, when it says. */
  cachedInputTokens?: number;
  /** Output tokens spent on reasoning, when the provider says. */
  reasoningTokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'other';

/**
 * A piece of a tool call as it streams, keyed by `index` (the call's position in the answer):
 * the first piece of a call carries its `id` and `name`, later ones more `arguments` text.
 */
export interface ToolCallDelta {
  type: 'tool_call';
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

/** What a stream yields: text and tool-call deltas, then exactly one `done`. */
export type StreamChunk = { type: 'text'; text: string } | ToolCallDelta | { type: 'done'; finishReason: FinishReason; usage: TokenUsage };

export interface CompletionResult {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
  /** The calls the model made, in order; absent when it made none. */
  toolCalls?: ToolCall[];
}

/** What a provider can honour beyond text; a request asking for more is refused with a 400 naming the parameter. */
export interface ProviderFeatures {
  tools: boolean;
  responseFormat: boolean;
  images: boolean;
}

/** Assembles streamed tool-call deltas into whole calls, in index order. */
export class ToolCallAccumulator {
  private readonly calls = new Map<number, ToolCall>();

  add(delta: ToolCallDelta): void {
    const call = this.calls.get(delta.index) ?? { id: '', name: '', arguments: '' };
    if (delta.id) call.id = delta.id;
    if (delta.name) call.name = delta.name;
    call.arguments += delta.arguments;
    this.calls.set(delta.index, call);
  }

  /** The calls so far, or undefined when there were none. */
  result(): ToolCall[] | undefined {
    return this.calls.size ? [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call) : undefined;
  }
}

export interface DiscoveredModel {
  /** The provider's own name for it. */
  name: string;
  displayName?: string;
  contextLength?: number;
}

/** Seed 001's status values for a model. */
export type ModelLoadStatus = 'not_loaded' | 'loading' | 'loaded' | 'error' | 'unavailable';

export interface LoadProgress {
  status: 'pulling' | 'loading' | 'loaded';
  /** 0–100 */
  progress: number;
  message: string;
}

export interface LocalModelStatus {
  status: Exclude<ModelLoadStatus, 'loading' | 'error'>;
  memoryUsage?: string | null;
  lastLoaded?: string | null;
}

/**
 * The strategy every provider implements, on its official SDK. Errors thrown are the
 * SDK's own; the registry translates them (model-errors.ts) and retries before the first
 * token. `signal` really cancels the upstream request.
 */
export abstract class ModelProvider {
  abstract readonly kind: ProviderKind;
  /** Instance name: the kind, or the configured name of an extra OpenAI-compatible endpoint. */
  abstract readonly name: string;
  /** Tools, response formats and images: what this provider can be asked for. */
  abstract readonly features: ProviderFeatures;

  /** SDK clients cost a few hundred microseconds to build: one per key is kept for a while. */
  private readonly clients = new LRUCache<string, object>({ max: 100, ttl: 10 * 60_000 });

  protected cachedClient<T extends object>(apiKey: string | undefined, create: () => T): T {
    const key = apiKey ?? '';
    let client = this.clients.get(key) as T | undefined;
    if (!client) this.clients.set(key, (client = create()));
    return client;
  }

  abstract listModels(apiKey: string | undefined, signal?: AbortSignal): Promise<DiscoveredModel[]>;

  abstract stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk>;

  /** A cheap real call with the key (listing models): true only when the provider accepts it. */
  async verifyKey(apiKey: string, signal?: AbortSignal): Promise<KeyVerification> {
    await this.listModels(apiKey, signal);
    return { verified: true };
  }

  /** Non-streaming completion; by default the stream, gathered. */
  async complete(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    let text = '';
    const toolCalls = new ToolCallAccumulator();
    for await (const chunk of this.stream(request, signal)) {
      if (chunk.type === 'text') text += chunk.text;
      else if (chunk.type === 'tool_call') toolCalls.add(chunk);
      else return { text, finishReason: chunk.finishReason, usage: chunk.usage, toolCalls: toolCalls.result() };
    }
    throw new AppException(ErrorCode.PROVIDER_ERROR, `${this.name} ended without an answer`, HttpStatus.BAD_GATEWAY);
  }
}

/** Providers that run models locally and load them on demand (Ollama). */
export abstract class LocalModelProvider extends ModelProvider {
  abstract status(model: string): Promise<LocalModelStatus>;
  abstract load(model: string, signal: AbortSignal): AsyncIterable<LoadProgress>;
}
