import { Injectable, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { CacheFactory, SharedCache } from '../../infra/cache/cache';
import { LruCacheFactory } from '../../infra/cache/lru-cache';
import { CallResult, CompletionsService, PreparedCall } from '../gateway/completions.service';
import { ChatMessage } from '../models/model-provider';
import { ModelsService } from '../models/models.service';
import { LlmCompleteDto, LlmCompletionDto, LlmPromptDto } from './llm.dto';

const DEFAULT_PROVIDER = 'openai';
/** The offline demo provider: the fallback default when no key serves DEFAULT_PROVIDER. */
const DEMO_PROVIDER = 'demo';

/**
 * The stateless endpoints (/api/llm): one prompt in, one answer out, nothing stored but usage.
 * Non-streaming answers may come from a cache (LLM_CACHE_ENABLED), keyed by user, model and
 * every parameter, bounded in age (LLM_CACHE_TTL_SECONDS): per process and bounded in
 * entries too (LLM_CACHE_MAX_ENTRIES) by default, shared by every pod in Redis when
 * REDIS_URL is set.
 */
@Injectable()
export class LlmService {
  private readonly cache?: SharedCache<CallResult>;

  constructor(
    private readonly config: AppConfig,
    private readonly completions: CompletionsService,
    private readonly models: ModelsService,
    @Optional() caches: CacheFactory = new LruCacheFactory(),
  ) {
    if (config.LLM_CACHE_ENABLED) this.cache = caches.create<CallResult>('llm', { maxEntries: config.LLM_CACHE_MAX_ENTRIES });
  }

  async complete(user: AuthUser, dto: LlmCompleteDto, signal: AbortSignal): Promise<LlmCompletionDto> {
    const call = await this.prepare(user, dto);
    const key = this.cache && dto.useCache !== false ? cacheKey(user.id, call, dto) : undefined;
    const cached = key ? asCallResult(await this.cache!.get(key)) : undefined;
    if (cached) await this.completions.recordCached(call, cached);
    const result = cached ?? (await this.completions.complete(call, signal));
    if (key && !cached) await this.cache!.set(key, plainCallResult(result), this.config.LLM_CACHE_TTL_SECONDS * 1000);
    return {
      content: result.text,
      model: call.entry.id,
      created: Math.floor(Date.now() / 1000),
      usage: { promptTokens: result.promptTokens, completionTokens: result.completionTokens, totalTokens: result.promptTokens + result.completionTokens },
      cached: Boolean(cached),
    };
  }

  /** Text deltas of the answer, then the whole of it. */
  async *stream(call: PreparedCall, signal: AbortSignal): AsyncIterable<{ delta: string } | { done: true; content: string }> {
    let content = '';
    for await (const chunk of this.completions.stream(call, signal)) {
      if (chunk.type === 'text') {
        content += chunk.text;
        yield { delta: chunk.text };
      }
    }
    yield { done: true, content };
  }

  /** Validates and resolves before anything is sent, so a bad request is a plain HTTP error. */
  async prepare(user: AuthUser, dto: LlmPromptDto): Promise<PreparedCall> {
    const configured = dto.model ?? (dto.provider ? undefined : this.config.llmDefaultModel);
    const modelId = configured ?? this.models.firstOf(dto.provider ?? DEFAULT_PROVIDER).id;
    const system = dto.system ?? this.config.llmSystemPrompt;
    const messages: ChatMessage[] = [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: dto.prompt }];
    const parameters = { temperature: dto.temperature, maxTokens: dto.maxTokens };
    let call: PreparedCall;
    try {
      call = await this.completions.prepare(user, 'llm', modelId, messages, parameters);
    } catch (error) {
      // Nothing named a model or a provider and no key serves the default provider (a fresh
      // clone): the demo model answers rather than a 422 asking for a key nobody chose.
      const demo = !configured && !dto.provider && isKeyRequired(error) ? this.demoModel() : undefined;
      if (!demo) throw error;
      call = await this.completions.prepare(user, 'llm', demo, messages, parameters);
    }
    if (dto.provider && call.entry.provider !== dto.provider) {
      throw AppException.validation('Invalid request parameters', { fields: { provider: [`${call.entry.id} is served by ${call.entry.provider}, not ${dto.provider}`] } });
    }
    return call;
  }

  private demoModel(): string | undefined {
    try {
      return this.models.firstOf(DEMO_PROVIDER).id;
    } catch {
      return undefined; // the demo provider is off (production, DEMO_PROVIDER_ENABLED=false)
    }
  }
}

function isKeyRequired(error: unknown): boolean {
  return error instanceof AppException && error.code === ErrorCode.API_KEY_REQUIRED;
}

/** Only the fields of a CallResult, as plain data: what a shared (JSON) cache gives back unchanged. */
function plainCallResult({ text, finishReason, promptTokens, completionTokens }: CallResult): CallResult {
  return { text, finishReason, promptTokens, completionTokens };
}

/** A cached value read back, or undefined when it is not a CallResult (a miss). */
function asCallResult(value: unknown): CallResult | undefined {
  const v = value as Partial<CallResult> | undefined;
  return v && typeof v.text === 'string' && typeof v.finishReason === 'string' && typeof v.promptTokens === 'number' && typeof v.completionTokens === 'number'
    ? plainCallResult(v as CallResult)
    : undefined;
}

function cacheKey(userId: string, call: PreparedCall, dto: LlmCompleteDto): string {
  const { messages, temperature, maxTokens } = call.request;
  return createHash('sha256').update(JSON.stringify([userId, call.entry.id, messages, temperature ?? null, maxTokens ?? null, dto.provider ?? null])).digest('hex');
}
