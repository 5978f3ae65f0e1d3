import { HttpStatus } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { LRUCache } from 'lru-cache';
import type { KeyVerification } from '../profile/key-verifier';

/** Providers Parley speaks to; each has one strategy class. */
export type ProviderKind = 'openai' | 'anthropic' | 'google' | 'ollama' | 'demo';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
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
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter' | 'other';

/** What a stream yields: text deltas, then exactly one `done`. */
export type StreamChunk = { type: 'text'; text: string } | { type: 'done'; finishReason: FinishReason; usage: TokenUsage };

export interface CompletionResult {
  text: string;
  finishReason: FinishReason;
  usage: TokenUsage;
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
    for await (const chunk of this.stream(request, signal)) {
      if (chunk.type === 'text') text += chunk.text;
      else return { text, finishReason: chunk.finishReason, usage: chunk.usage };
    }
    throw new AppException(ErrorCode.PROVIDER_ERROR, `${this.name} ended without an answer`, HttpStatus.BAD_GATEWAY);
  }
}

/** Providers that run models locally and load them on demand (Ollama). */
export abstract class LocalModelProvider extends ModelProvider {
  abstract status(model: string): Promise<LocalModelStatus>;
  abstract load(model: string, signal: AbortSignal): AsyncIterable<LoadProgress>;
}
