import { HttpStatus, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { backOff } from 'exponential-backoff';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { LifecycleService } from '../../common/lifecycle/lifecycle.service';
import { AppConfig } from '../../config/app.config';
import { Message, Thread } from '../../infra/database/generated/client';
import { isTransientDatabaseError, isUniqueViolation } from '../../infra/database/database-errors';
import { GenerationRecord, GenerationRegistry } from '../../infra/generations/generation-registry';
import { RunningGeneration, RunningGenerations, StopReason } from '../../infra/generations/running-generations';
import { StreamBus } from '../../infra/stream-bus/stream-bus';
import { UsersRepository } from '../auth/users.repository';
import { ImageInputs } from '../gateway/image-inputs';
import { assertSupported } from '../models/feature-support';
import { FinishReason, ImageInput, TokenUsage } from '../models/model-provider';
import { CatalogEntry } from '../models/models.dto';
import { ModelsService } from '../models/models.service';
import { ProviderRegistry } from '../models/provider-registry';
import { TokenCounter } from '../models/token-counter';
import { SummarizationService } from '../summarization/summarization.service';
import { ThreadEvents } from '../threads/thread-events';
import { AnswerEnd, endEvents, endOf, startEvent, tokenEvent } from './answer-events';
import { AssembledContext, ContextBuilder, IMAGE_TOKENS } from './context-builder';
import { MessagesRepository, StoredAnswer, storedImages } from './messages.repository';

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

/** The error code an answer stopped early is stored and announced with. */
const STOP_CODES: Record<StopReason, string> = { cancelled: 'CANCELLED', shutdown: ErrorCode.SERVER_SHUTDOWN, lost: ErrorCode.INTERRUPTED };

/** Tries of the final write when the database blinks: about 6 s in all before giving up. */
const STORE_ATTEMPTS = 6;

interface GenerationJob {
  generation: RunningGeneration;
  thread: Thread;
  entry: CatalogEntry;
  providerName: string;
  apiKey?: string;
  context: AssembledContext;
  userMessage: Message;
  firstExchange: boolean;
  started: number;
}

/**
 * Generations as jobs keyed by the assistant message id: they outlive the HTTP request,
 * publish their events to the stream bus, and store the assistant message once at the end
 * (complete, error, cancelled or interrupted, with the text so far). No write per token.
 * The registry makes the one-answer-per-thread-and-model rule and the per-user cap hold
 * across pods.
 */
@Injectable()
export class GenerationService implements OnModuleDestroy {
  private readonly logger = new Logger('Generation');

  constructor(
    private readonly config: AppConfig,
    private readonly lifecycle: LifecycleService,
    private readonly models: ModelsService,
    private readonly providers: ProviderRegistry,
    private readonly repository: MessagesRepository,
    private readonly contexts: ContextBuilder,
    private readonly tokens: TokenCounter,
    private readonly users: UsersRepository,
    private readonly bus: StreamBus,
    private readonly summaries: SummarizationService,
    private readonly running: RunningGenerations,
    private readonly registry: GenerationRegistry,
    private readonly threadEvents: ThreadEvents,
    private readonly images: ImageInputs,
  ) {
    lifecycle.onDrain((graceMs) => this.drain(graceMs));
  }

  /** `imageUrls`: data: or http(s) URLs of images sent with the text (vision models only). */
  async start(userId: string, thread: Thread, modelId: string, content: string, requestedTemperature?: number, imageUrls: string[] = []): Promise<StartedGeneration> {
    const threadId = thread.id;
    this.lifecycle.assertAcceptingWork();
    const [{ entry, providerName, apiKey }, user] = await Promise.all([this.models.resolve(userId, modelId), this.users.findById(userId)]);
    const settings = (user?.settings ?? {}) as { systemPrompt?: string; defaultTemperature?: number };
    const range = entry.temperatureRange;
    const temperature = requestedTemperature ?? Math.min(range.max, Math.max(range.min, settings.defaultTemperature ?? range.default));
    if (temperature < range.min || temperature > range.max) {
      throw AppException.validation('Invalid request parameters', {
        fields: { temperature: [`temperature must be between ${range.min} and ${range.max} for ${entry.name}`] },
      });
    }
    const images = imageUrls.length ? await this.loadImages(entry, providerName, imageUrls) : [];
    const record: GenerationRecord = { messageId: randomUUID(), userMessageId: randomUUID(), userId, threadId, modelId: entry.id, temperature, startedAt: Date.now() };
    const claim = await this.registry.claim(record, this.config.MAX_CONCURRENT_GENERATIONS_PER_USER);
    if (claim === 'busy') {
      throw new AppException(ErrorCode.GENERATION_IN_PROGRESS, 'This model is still answering in this thread', HttpStatus.CONFLICT);
    }
    if (claim === 'user-limit') {
      throw new AppException(ErrorCode.RATE_LIMITED, 'Too many answers are being generated for you at once', HttpStatus.TOO_MANY_REQUESTS);
    }
    const generation: RunningGeneration = { record, abort: new AbortController(), settled: Promise.resolve() };
    this.running.add(generation);
    try {
      const started = performance.now();
      // A thread without a title of the user's gets one after its first exchange.
      const firstExchange = !thread.titleByUser && (await this.repository.countInThread(threadId)) === 0;
      const tokens = (await this.tokens.count(content)) + images.length * IMAGE_TOKENS;
      // The history is read while the new message is written: one round trip less before the first token.
      const [userMessage, context] = await Promise.all([
        this.repository.insert({ id: record.userMessageId, threadId, modelId: entry.id, role: 'user', content, tokens, images: storedImages(images) }),
        this.contexts.build(threadId, entry, settings.systemPrompt ?? '', { content, tokens, images }),
      ]);
      const done = this.run({ generation, thread, entry, providerName, apiKey, context, userMessage, firstExchange, started });
      generation.settled = done;
      return { userMessage, assistantMessageId: record.messageId, done };
    } catch (error) {
      this.running.remove(record.messageId);
      await this.registry.release(record).catch((e: Error) => this.logger.warn(`Releasing an answer that did not start failed: ${e.message}`));
      throw error;
    }
  }

  /**
   * The images as inline bytes, for a model that can see them (provider feature and the
   * catalog's `vision`); anything else is a 400 naming `images`.
   */
  private async loadImages(entry: CatalogEntry, providerName: string, urls: string[]): Promise<ImageInput[]> {
    assertSupported(entry, this.providers.get(providerName)?.features, { images: true }, { images: 'images' });
    return Promise.all(urls.map((url) => this.images.load(url, 'images')));
  }

  /**
   * The generation itself, detached from the request. It owns every promise it starts and
   * never rejects: whatever happens, the answer is stored once (or storing is given up on
   * and logged), its readers get a terminal event and the stream ends.
   */
  private async run(job: GenerationJob): Promise<GenerationOutcome> {
    const { generation, entry, userMessage } = job;
    const { record } = generation;
    const messageId = record.messageId;
    let text = '';
    let usage: TokenUsage | undefined;
    let finishReason: FinishReason | undefined;
    let failure: AppException | undefined;
    let stored: Message | undefined;
    try {
      this.bus.publish(messageId, startEvent(messageId, new Date().toISOString(), userMessage.id));
      this.threadEvents.announce(record.threadId, 'message_start', { messageId, modelId: record.modelId, userMessageId: userMessage.id });
      try {
        const { context } = job;
        const request = { model: entry.model, messages: context.messages, temperature: record.temperature, maxTokens: context.maxTokens, apiKey: job.apiKey };
        for await (const chunk of this.providers.stream(job.providerName, request, generation.abort.signal)) {
          if (chunk.type === 'text') {
            if (!chunk.text) continue;
            text += chunk.text;
            this.bus.publish(messageId, tokenEvent(messageId, chunk.text, text.length));
          } else if (chunk.type === 'done') {
            usage = chunk.usage;
            finishReason = chunk.finishReason;
          }
        }
      } catch (error) {
        if (!generation.stopReason) {
          failure = error instanceof AppException ? error : new AppException(ErrorCode.INTERNAL_ERROR, 'The answer could not be generated', HttpStatus.INTERNAL_SERVER_ERROR);
          if (!(error instanceof AppException)) this.logger.error({ err: error, messageId }, 'Generation failed');
        }
      }
      const stop = generation.stopReason;
      const answer: StoredAnswer = {
        text,
        status: stop === 'cancelled' ? 'cancelled' : stop ? 'interrupted' : failure ? 'error' : 'complete',
        errorCode: stop ? STOP_CODES[stop] : (failure?.code ?? null),
        finishReason: finishReason ?? null,
        promptTokens: usage?.inputTokens ?? null,
        completionTokens: usage?.outputTokens || (await this.tokens.count(text)),
        cachedPromptTokens: usage?.cachedInputTokens ?? null,
        reasoningTokens: usage?.reasoningTokens ?? null,
        temperature: record.temperature,
        latencyMs: performance.now() - job.started,
      };
      stored = await this.store(job, answer);
      if (stored.status === 'complete') {
        // Background work (summary, title) is scheduled before the readers' last event (two
        // reads and a queue push), so whoever saw the answer end finds its jobs queued.
        await this.summaries
          .afterExchange(record.userId, job.thread.id, entry, job.firstExchange ? userMessage.content : undefined)
          .catch((error: Error) => this.logger.warn(`Scheduling summarization failed: ${error.message}`));
      }
    } catch (error) {
      // The answer could not be stored (thread deleted meanwhile, database gone for good).
      this.logger.error({ err: error, messageId, threadId: job.thread.id }, 'Storing the answer failed; its readers get an error');
      stored = undefined;
      failure = new AppException(ErrorCode.SERVICE_UNAVAILABLE, 'The answer could not be stored', HttpStatus.SERVICE_UNAVAILABLE);
    } finally {
      await this.finish(generation, stored, failure);
    }
    return stored ? { message: stored, failure } : { failure: failure! };
  }

  /**
   * The one write of the answer, retried while the database blinks. When another pod took
   * the answer for dead and stored it as interrupted first, that row stands.
   */
  private async store(job: GenerationJob, answer: StoredAnswer): Promise<Message> {
    const { messageId, threadId, modelId } = job.generation.record;
    try {
      return await backOff(() => this.repository.insertAnswer(threadId, job.entry, answer, messageId), {
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
    } catch (error) {
      const existing = isUniqueViolation(error) ? await this.repository.find(threadId, modelId, messageId) : null;
      if (!existing) throw error;
      this.logger.warn({ messageId }, 'The answer had been stored by another server (taken for interrupted); keeping that one');
      return existing;
    }
  }

  /** Terminal event, `close`, end of stream, then the answer is released everywhere; failures are logged, never thrown. */
  private async finish(generation: RunningGeneration, stored: Message | undefined, failure: AppException | undefined): Promise<void> {
    const { record } = generation;
    const messageId = record.messageId;
    const end: AnswerEnd = stored ? endOf(stored) : { status: 'failed', code: failure?.code ?? ErrorCode.INTERNAL_ERROR, message: failure?.message };
    const length = stored ? stored.content.length : 0;
    try {
      for (const event of endEvents(messageId, length, end)) this.bus.publish(messageId, event);
      await this.bus.end(messageId);
    } catch (error) {
      this.logger.error({ err: error, messageId }, 'Ending an answer stream failed');
    }
    this.running.remove(messageId);
    await this.registry.release(record).catch((error: Error) => this.logger.warn(`Releasing answer ${messageId} failed: ${error.message}`));
    this.threadEvents.announce(
      record.threadId,
      end.status === 'complete' ? 'message_complete' : 'message_error',
      end.status === 'complete' ? { messageId, modelId: record.modelId, status: 'complete' } : { messageId, modelId: record.modelId, status: stored?.status ?? 'error', code: end.code },
    );
  }

  /**
   * Shutdown: answers still running get `graceMs` to finish, then are stopped and stored as
   * interrupted (SERVER_SHUTDOWN) with their text; resolves once they are stored.
   */
  async drain(graceMs: number): Promise<void> {
    const pending = this.running.all();
    if (!pending.length) return;
    this.logger.log(`${pending.length} answer(s) running: ${graceMs} ms to finish`);
    await Promise.race([Promise.allSettled(pending.map((g) => g.settled)), sleep(graceMs, undefined, { ref: false })]);
    const left = this.running.all();
    for (const g of left) this.running.stop(g, 'shutdown');
    await Promise.allSettled(left.map((g) => g.settled));
  }

  /** Whatever still runs when the app closes is stored as interrupted before the database goes. */
  async onModuleDestroy(): Promise<void> {
    await this.drain(0);
  }
}
