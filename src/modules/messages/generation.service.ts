import { HttpStatus, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { backOff } from 'exponential-backoff';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { AppConfig } from '../../config/app.config';
import { Message, Thread } from '../../infra/database/generated/client';
import { isTransientDatabaseError } from '../../infra/database/database-errors';
import { RunningGeneration, RunningGenerations } from '../../infra/generations/running-generations';
import { StreamBus } from '../../infra/stream-bus/stream-bus';
import { UsersRepository } from '../auth/users.repository';
import { FinishReason, TokenUsage } from '../models/model-provider';
import { CatalogEntry } from '../models/models.dto';
import { ModelsService } from '../models/models.service';
import { ProviderRegistry } from '../models/provider-registry';
import { SummarizationService } from '../summarization/summarization.service';
import { ContextBuilder } from './context-builder';
import { MessagesRepository } from './messages.repository';
import { TokenCounter } from '../models/token-counter';

export type GenerationOutcome =
  | { message: Message; /** Why it failed, when it did. */ failure?: AppException }
  /** The answer could not be stored. */
  | { message?: undefined; failure: AppException };

export interface StartedGeneration {
  userMessage: Message;
  assistantMessageId: string;
  /** Settles with the stored assistant row, whatever the outcome; never rejects. */
  done: Promise<GenerationOutcome>;
}

/** Tries of the final write when the database blinks: about 6 s in all before giving up. */
const STORE_ATTEMPTS = 6;

interface GenerationJob {
  generation: RunningGeneration;
  userId: string;
  thread: Thread;
  entry: CatalogEntry;
  providerName: string;
  apiKey?: string;
  temperature: number;
  systemPrompt: string;
  userMessage: Message;
  firstExchange: boolean;
  started: number;
}

/**
 * Generations as jobs keyed by the assistant message id: they outlive the HTTP request,
 * publish their events to the stream bus, and store the assistant message once at the end
 * (complete, error or cancelled, with the text so far). No write per token.
 */
@Injectable()
export class GenerationService implements OnModuleDestroy {
  private readonly logger = new Logger('Generation');

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
    private readonly running: RunningGenerations,
  ) {}

  async start(userId: string, thread: Thread, modelId: string, content: string, requestedTemperature?: number): Promise<StartedGeneration> {
    const threadId = thread.id;
    this.lifecycle.assertAcceptingWork();
    if (this.running.isAnswering(threadId, modelId)) {
      throw new AppException(ErrorCode.GENERATION_IN_PROGRESS, 'This model is still answering in this thread', HttpStatus.CONFLICT);
    }
    if (this.running.countForUser(userId) >= this.config.MAX_CONCURRENT_GENERATIONS_PER_USER) {
      throw new AppException(ErrorCode.RATE_LIMITED, 'Too many answers are being generated for you at once', HttpStatus.TOO_MANY_REQUESTS);
    }
    // Claimed before the first await, so two sends at once cannot both pass the checks.
    const generation: RunningGeneration = { messageId: randomUUID(), userId, threadId, modelId, abort: new AbortController(), cancelled: false, settled: Promise.resolve() };
    this.running.add(generation);
    try {
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
      const userMessage = await this.repository.insert({ threadId, modelId, role: 'user', content, tokens: await this.tokens.count(content) });
      const done = this.run({ generation, userId, thread, entry, providerName, apiKey, temperature, systemPrompt: settings.systemPrompt ?? '', userMessage, firstExchange, started });
      generation.settled = done;
      return { userMessage, assistantMessageId: generation.messageId, done };
    } catch (error) {
      this.running.remove(generation.messageId);
      throw error;
    }
  }

  /**
   * The generation itself, detached from the request. It owns every promise it starts and
   * never rejects: whatever happens, the answer is stored once (or storing is given up on
   * and logged), its readers get a terminal event and the stream ends.
   */
  private async run(job: GenerationJob): Promise<GenerationOutcome> {
    const { generation, entry, userMessage } = job;
    const messageId = generation.messageId;
    let text = '';
    let usage: TokenUsage | undefined;
    let finishReason: FinishReason | undefined;
    let failure: AppException | undefined;
    let stored: Message | undefined;
    try {
      await this.bus.publish(messageId, { event: 'message_start', data: { messageId, userMessageId: userMessage.id, timestamp: new Date().toISOString() } });
      try {
        const context = await this.contexts.build(job.thread.id, entry, job.systemPrompt, userMessage);
        const request = { model: entry.model, messages: context.messages, temperature: job.temperature, maxTokens: context.maxTokens, apiKey: job.apiKey };
        for await (const chunk of this.registry.stream(job.providerName, request, generation.abort.signal)) {
          if (chunk.type === 'text') {
            text += chunk.text;
            await this.bus.publish(messageId, { event: 'token', data: { token: chunk.text, messageId } });
          } else {
            usage = chunk.usage;
            finishReason = chunk.finishReason;
          }
        }
      } catch (error) {
        if (!generation.cancelled) {
          failure = error instanceof AppException ? error : new AppException(ErrorCode.INTERNAL_ERROR, 'The answer could not be generated', HttpStatus.INTERNAL_SERVER_ERROR);
          if (!(error instanceof AppException)) this.logger.error({ err: error, messageId }, 'Generation failed');
        }
      }
      const status = generation.cancelled ? 'cancelled' : failure ? 'error' : 'complete';
      const completionTokens = usage?.outputTokens || (await this.tokens.count(text));
      const answer = {
        text,
        status,
        errorCode: failure?.code ?? (generation.cancelled ? 'CANCELLED' : null),
        finishReason: finishReason ?? null,
        promptTokens: usage?.inputTokens ?? null,
        completionTokens,
        temperature: job.temperature,
        latencyMs: performance.now() - job.started,
      } as const;
      stored = await backOff(() => this.repository.insertAnswer(job.thread.id, entry, answer, messageId), {
        numOfAttempts: STORE_ATTEMPTS,
        startingDelay: 200,
        maxDelay: 2000,
        jitter: 'full',
        retry: (error: unknown, attempt: number) => {
          const transient = isTransientDatabaseError(error);
          if (transient) this.logger.warn({ messageId, attempt }, 'Storing the answer failed, retrying');
          return transient;
        },
      });
      if (status === 'complete') {
        // Background work (summary, title) is only scheduled here (two reads and a queue
        // push); the jobs themselves run off the request path.
        await this.summaries
          .afterExchange(job.userId, job.thread.id, entry, job.firstExchange ? userMessage.content : undefined)
          .catch((error: Error) => this.logger.warn(`Scheduling summarization failed: ${error.message}`));
      }
    } catch (error) {
      // The answer could not be stored (thread deleted meanwhile, database gone for good).
      this.logger.error({ err: error, messageId, threadId: job.thread.id }, 'Storing the answer failed; its readers get an error');
      stored = undefined;
      failure = new AppException(ErrorCode.SERVICE_UNAVAILABLE, 'The answer could not be stored', HttpStatus.SERVICE_UNAVAILABLE);
    } finally {
      await this.finish(messageId, stored, failure);
      this.running.remove(messageId);
    }
    return stored ? { message: stored, failure } : { failure: failure! };
  }

  /** The terminal event, `close`, and the end of the stream; a failing bus is logged, never thrown. */
  private async finish(messageId: string, stored: Message | undefined, failure: AppException | undefined): Promise<void> {
    const terminal =
      stored?.status === 'complete'
        ? { event: 'message_complete', data: { messageId, totalTokens: stored.tokens ?? 0, finishReason: stored.finishReason, timestamp: stored.createdAt.toISOString() } }
        : { event: 'error', data: { ...(failure ? { code: failure.code, message: failure.message } : { code: 'CANCELLED', message: 'The answer was cancelled' }), messageId } };
    try {
      await this.bus.publish(messageId, terminal);
      await this.bus.publish(messageId, { event: 'close', data: {} });
    } catch (error) {
      this.logger.error({ err: error, messageId }, 'Publishing the end of an answer failed');
    } finally {
      await this.bus.end(messageId).catch((error: Error) => this.logger.error({ err: error, messageId }, 'Ending an answer stream failed'));
    }
  }

  /** Stops a running generation of this user; false when there is none. */
  cancel(userId: string, messageId: string): boolean {
    const generation = this.running.get(messageId);
    if (!generation || generation.userId !== userId) return false;
    this.running.cancel(generation);
    return true;
  }

  /** On shutdown, running generations get the grace period, then are stored as cancelled. */
  async onModuleDestroy(): Promise<void> {
    const pending = this.running.all();
    if (!pending.length) return;
    const grace = new Promise((resolve) => setTimeout(resolve, this.config.SHUTDOWN_GRACE_MS).unref());
    await Promise.race([Promise.allSettled(pending.map((g) => g.settled)), grace]);
    for (const g of this.running.all()) this.running.cancel(g);
    await Promise.allSettled(pending.map((g) => g.settled));
  }
}
