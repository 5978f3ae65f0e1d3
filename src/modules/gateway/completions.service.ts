import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { addToRequestLog } from '../../common/http/request-id';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { ErrorCode } from '../../common/errors/error-codes';
import { UsageSource } from '../../infra/database/generated/client';
import { assertSupported } from '../models/feature-support';
import { ChatMessage, CompletionRequest, FinishReason, StreamChunk, TokenUsage, ToolCall } from '../models/model-provider';
import { CatalogEntry } from '../models/models.dto';
import { ModelLookup, ModelsService } from '../models/models.service';
import { ProviderRegistry } from '../models/provider-registry';
import { TokenCounter } from '../models/token-counter';
import { ModerationService } from '../moderation/moderation.service';
import { UsageService } from '../usage/usage.service';

export type CallParameters = Pick<CompletionRequest, 'temperature' | 'topP' | 'maxTokens' | 'stop' | 'tools' | 'toolChoice' | 'parallelToolCalls' | 'responseFormat'>;

/** A one-shot model call (outside a thread), moderated and resolved, ready to run. */
export interface PreparedCall {
  user: AuthUser;
  source: UsageSource;
  entry: CatalogEntry;
  providerName: string;
  request: CompletionRequest;
  started: number;
}

export interface CallResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens?: number;
  reasoningTokens?: number;
  toolCalls?: ToolCall[];
}

/** A call's tokens: the provider's counts, else our tokenizer's; the details only when the provider reports them. */
type TokenCounts = Pick<CallResult, 'promptTokens' | 'completionTokens' | 'cachedPromptTokens' | 'reasoningTokens'>;

/** The final chunk, with token counts filled in by our tokenizer where the provider reported none. */
export type FinalChunk = Extract<StreamChunk, { type: 'done' }>;

/**
 * Model calls made by programs (the /v1 gateway) and by /api/llm: resolve the model and
 * key, moderate the prompt, call the provider through the registry (retries, error
 * translation) and record the usage once, however the call ends.
 */
@Injectable()
export class CompletionsService {
  private readonly logger = new Logger('Completions');

  constructor(
    private readonly lifecycle: LifecycleService,
    private readonly models: ModelsService,
    private readonly registry: ProviderRegistry,
    private readonly moderation: ModerationService,
    private readonly tokens: TokenCounter,
    private readonly usage: UsageService,
  ) {}

  async prepare(user: AuthUser, source: UsageSource, modelId: string, messages: ChatMessage[], parameters: CallParameters, lookup?: ModelLookup): Promise<PreparedCall> {
    this.lifecycle.assertAcceptingWork();
    this.moderation.check(messages.map((m) => m.content));
    const { entry, providerName, apiKey } = await this.models.resolve(user.id, modelId, lookup);
    // Refused with a 400 naming the parameter, never silently dropped.
    assertSupported(entry, this.registry.get(providerName)?.features, {
      tools: !!parameters.tools?.length,
      responseFormat: !!parameters.responseFormat && parameters.responseFormat.type !== 'text',
      images: messages.some((m) => m.images?.length),
    });
    return { user, source, entry, providerName, request: { model: entry.model, messages, ...parameters, apiKey }, started: performance.now() };
  }

  /** Text and tool-call chunks, then one final chunk; usage is recorded before the final chunk is handed out. */
  async *stream(call: PreparedCall, signal: AbortSignal): AsyncIterable<StreamChunk> {
    let text = '';
    let recorded = false;
    let outcome: { status: 'error' | 'cancelled'; errorCode?: string } = { status: 'cancelled' };
    try {
      let final: FinalChunk | undefined;
      for await (const chunk of this.registry.stream(call.providerName, call.request, signal)) {
        if (chunk.type === 'text') {
          text += chunk.text;
          yield chunk;
        } else if (chunk.type === 'tool_call') {
          text += chunk.arguments;
          yield chunk;
        } else final = chunk;
      }
      if (!final) throw new AppException(ErrorCode.PROVIDER_ERROR, `${call.providerName} ended without an answer`, HttpStatus.BAD_GATEWAY);
      const counted = await this.counted(call, text, final.usage);
      recorded = true;
      await this.record(call, { status: 'complete', ...counted });
      yield { ...final, usage: { ...final.usage, inputTokens: counted.promptTokens, outputTokens: counted.completionTokens } };
    } catch (error) {
      if (signal.aborted) throw error;
      const failure = this.failureOf(error);
      outcome = { status: 'error', errorCode: failure.code };
      throw failure;
    } finally {
      if (!recorded) await this.record(call, { ...outcome, ...(await this.counted(call, text)) });
    }
  }

  /** A non-streaming call, forwarded as one (no stream upstream); usage recorded once, however it ends. */
  async complete(call: PreparedCall, signal: AbortSignal): Promise<CallResult> {
    let result;
    try {
      result = await this.registry.complete(call.providerName, call.request, signal);
    } catch (error) {
      const failure = signal.aborted ? undefined : this.failureOf(error);
      await this.record(call, { ...(failure ? { status: 'error' as const, errorCode: failure.code } : { status: 'cancelled' as const }), ...(await this.counted(call, '')) });
      throw failure ?? error;
    }
    const counted = await this.counted(call, result.text + (result.toolCalls?.map((c) => c.arguments).join('') ?? ''), result.usage);
    await this.record(call, { status: 'complete', ...counted });
    return { text: result.text, finishReason: result.finishReason, ...counted, toolCalls: result.toolCalls };
  }

  /** What the client is told when a call fails: the provider's translated error, else a logged 500. */
  private failureOf(error: unknown): AppException {
    if (error instanceof AppException) return error;
    this.logger.error({ err: error }, 'Completion failed');
    return new AppException(ErrorCode.INTERNAL_ERROR, 'The answer could not be generated', HttpStatus.INTERNAL_SERVER_ERROR);
  }

  /** Records a call answered without the provider (a cache hit). */
  recordCached(call: PreparedCall, result: CallResult): Promise<void> {
    return this.record(call, { status: 'complete', promptTokens: result.promptTokens, completionTokens: result.completionTokens, cached: true });
  }

  /** Provider counts when reported, our tokenizer's otherwise (some servers report none, and failed calls never do). */
  private async counted(call: PreparedCall, text: string, usage?: TokenUsage): Promise<TokenCounts> {
    let promptTokens = usage?.inputTokens;
    if (!promptTokens) {
      promptTokens = 0;
      for (const message of call.request.messages) promptTokens += await this.tokens.countMessage(message.content);
    }
    return {
      promptTokens,
      completionTokens: usage?.outputTokens || (await this.tokens.count(text)),
      // Only providers report these (our tokenizer cannot know them).
      cachedPromptTokens: usage?.cachedInputTokens,
      reasoningTokens: usage?.reasoningTokens,
    };
  }

  private record(call: PreparedCall, result: { status: 'complete' | 'error' | 'cancelled'; errorCode?: string; cached?: boolean } & TokenCounts): Promise<void> {
    const latencyMs = Math.round(performance.now() - call.started);
    // Seed 003's call log: sizes and outcome only, never the prompt or the answer. (Token
    // counts go under `usage`: the log redaction hides any field named like "token".)
    const { promptTokens, completionTokens, cachedPromptTokens, reasoningTokens, ...outcome } = result;
    const promptChars = call.request.messages.reduce((n, m) => n + m.content.length, 0);
    const usage = { input: promptTokens, output: completionTokens, cachedInput: cachedPromptTokens, reasoning: reasoningTokens };
    const modelCall = { source: call.source, model: call.entry.id, promptChars, latencyMs, ...outcome, usage };
    // On its request's line; its own line only when it outlived the request (a client that left).
    if (!addToRequestLog({ modelCall })) this.logger.log(modelCall, 'Model call');
    return this.usage.record({ user: call.user, source: call.source, entry: call.entry, latencyMs, ...result });
  }
}
