import { HttpStatus, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { AppConfig } from '../../config/app.config';
import { Message, Thread } from '../../infra/database/generated/client';
import { StreamBus } from '../../infra/stream-bus/stream-bus';
import { UsersRepository } from '../auth/users.repository';
import { FinishReason, TokenUsage } from '../models/model-provider';
import { ModelsService } from '../models/models.service';
import { ProviderRegistry } from '../models/provider-registry';
import { SummarizationService } from '../summarization/summarization.service';
import { ContextBuilder } from './context-builder';
import { MessagesRepository } from './messages.repository';
import { TokenCounter } from '../models/token-counter';

interface RunningGeneration {
  messageId: string;
  userId: string;
  key: string;
  abort: AbortController;
  cancelled: boolean;
  done: Promise<GenerationOutcome>;
}

export interface GenerationOutcome {
  message: Message;
  /** Why it failed, when it did. */
  failure?: AppException;
}

export interface StartedGeneration {
  userMessage: Message;
  assistantMessageId: string;
  /** Resolves with the stored assistant row, whatever the outcome. */
  done: Promise<GenerationOutcome>;
}

/**
 * Generations as jobs keyed by the assistant message id: they outlive the HTTP request,
 * publish their events to the stream bus, and store the assistant message once at the end
 * (complete, error or cancelled, with the text so far). No write per token.
 */
@Injectable()
export class GenerationService implements OnModuleDestroy {
  private readonly logger = new Logger('Generation');
  private readonly running = new Map<string, RunningGeneration>();

  constructor(
    private readonly config: AppConfig,
    private readonly lifecycle: LifecycleService,
    private readonly models: ModelsService,
    private readonly registry: ProviderRegistry,
    private readonly repository: MessagesRepository,
    private readonly contexts: ContextBuilder,
    private readonly tokens: TokenCounter,
    private readonly users: UsersRepository,
    private readonly bus: StreamBus,
    private readonly summaries: SummarizationService,
  ) {}

  async start(userId: string, thread: Thread, modelId: string, content: string, requestedTemperature?: number): Promise<StartedGeneration> {
    const threadId = thread.id;
    this.lifecycle.assertAcceptingWork();
    const key = `${threadId}:${modelId}`;
    if ([...this.running.values()].some((g) => g.key === key)) {
      throw new AppException(ErrorCode.GENERATION_IN_PROGRESS, 'This model is still answering in this thread', HttpStatus.CONFLICT);
    }
    if ([...this.running.values()].filter((g) => g.userId === userId).length >= this.config.MAX_CONCURRENT_GENERATIONS_PER_USER) {
      throw new AppException(ErrorCode.RATE_LIMITED, 'Too many answers are being generated for you at once', HttpStatus.TOO_MANY_REQUESTS);
    }
    const { entry, providerName, apiKey } = await this.models.resolve(userId, modelId);
    const user = await this.users.findById(userId);
    const settings = (user?.settings ?? {}) as { systemPrompt?: string; defaultTemperature?: number };
    const range = entry.temperatureRange;
    const temperature = requestedTemperature ?? Math.min(range.max, Math.max(range.min, settings.defaultTemperature ?? range.default));
    if (temperature < range.min || temperature > range.max) {
      throw AppException.validation('Invalid request parameters', {
        fields: { temperature: [`temperature must be between ${range.min} and ${range.max} for ${entry.name}`] },
      });
    }

    const started = performance.now();
    // A thread without a title of the user's gets one after its first exchange.
    const firstExchange = !thread.titleByUser && (await this.repository.countInThread(threadId)) === 0;
    const userMessage = await this.repository.insert({ threadId, modelId, role: 'user', content, tokens: this.tokens.count(content) });
    const assistantMessageId = randomUUID();
    const generation: RunningGeneration = { messageId: assistantMessageId, userId, key, abort: new AbortController(), cancelled: false, done: undefined! };
    this.running.set(assistantMessageId, generation);

    generation.done = (async () => {
      let text = '';
      let usage: TokenUsage | undefined;
      let finishReason: FinishReason | undefined;
      let failure: AppException | undefined;
      await this.bus.publish(assistantMessageId, { event: 'message_start', data: { messageId: assistantMessageId, userMessageId: userMessage.id, timestamp: new Date().toISOString() } });
      try {
        const context = await this.contexts.build(threadId, entry, settings.systemPrompt ?? '', content);
        const request = { model: entry.model, messages: context.messages, temperature, maxTokens: context.maxTokens, apiKey };
        for await (const chunk of this.registry.stream(providerName, request, generation.abort.signal)) {
          if (chunk.type === 'text') {
            text += chunk.text;
            await this.bus.publish(assistantMessageId, { event: 'token', data: { token: chunk.text, messageId: assistantMessageId } });
          } else {
            usage = chunk.usage;
            finishReason = chunk.finishReason;
          }
        }
      } catch (error) {
        if (!generation.cancelled) {
          failure = error instanceof AppException ? error : new AppException(ErrorCode.INTERNAL_ERROR, 'The answer could not be generated', HttpStatus.INTERNAL_SERVER_ERROR);
          if (!(error instanceof AppException)) this.logger.error({ err: error }, 'Generation failed');
        }
      }
      const status = generation.cancelled ? 'cancelled' : failure ? 'error' : 'complete';
      const completionTokens = usage?.outputTokens || this.tokens.count(text);
      const stored = await this.repository.insertAnswer(
        threadId,
        entry,
        {
          text,
          status,
          errorCode: failure?.code ?? (generation.cancelled ? 'CANCELLED' : null),
          finishReason: finishReason ?? null,
          promptTokens: usage?.inputTokens ?? null,
          completionTokens,
          temperature,
          latencyMs: performance.now() - started,
        },
        assistantMessageId,
      );
      if (status === 'complete') {
        // Background work (summary, title) is only scheduled here (two reads and a queue
        // push); the jobs themselves run off the request path.
        await this.summaries
          .afterExchange(userId, threadId, entry, firstExchange ? content : undefined)
          .catch((error: Error) => this.logger.warn(`Scheduling summarization failed: ${error.message}`));
        await this.bus.publish(assistantMessageId, {
          event: 'message_complete',
          data: { messageId: assistantMessageId, totalTokens: completionTokens, finishReason, timestamp: stored.createdAt.toISOString() },
        });
      } else {
        const body = failure ? { code: failure.code, message: failure.message } : { code: 'CANCELLED', message: 'The answer was cancelled' };
        await this.bus.publish(assistantMessageId, { event: 'error', data: { ...body, messageId: assistantMessageId } });
      }
      await this.bus.publish(assistantMessageId, { event: 'close', data: {} });
      await this.bus.end(assistantMessageId);
      this.running.delete(assistantMessageId);
      return { message: stored, failure };
    })();
    return { userMessage, assistantMessageId, done: generation.done };
  }

  isRunning(messageId: string): boolean {
    return this.running.has(messageId);
  }

  /** Stops a running generation of this user; false when there is none. */
  cancel(userId: string, messageId: string): boolean {
    const generation = this.running.get(messageId);
    if (!generation || generation.userId !== userId) return false;
    generation.cancelled = true;
    generation.abort.abort();
    return true;
  }

  /** On shutdown, running generations get the grace period, then are stored as cancelled. */
  async onModuleDestroy(): Promise<void> {
    const pending = [...this.running.values()];
    if (!pending.length) return;
    const grace = new Promise((resolve) => setTimeout(resolve, this.config.SHUTDOWN_GRACE_MS).unref());
    await Promise.race([Promise.allSettled(pending.map((g) => g.done)), grace]);
    for (const g of this.running.values()) {
      g.cancelled = true;
      g.abort.abort();
    }
    await Promise.allSettled(pending.map((g) => g.done));
  }
}
