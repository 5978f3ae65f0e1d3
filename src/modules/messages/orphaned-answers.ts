import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { isUniqueViolation } from '../../infra/database/database-errors';
import { GenerationRecord, GenerationRegistry } from '../../infra/generations/generation-registry';
import { StreamBus } from '../../infra/stream-bus/stream-bus';
import { TokenCounter } from '../models/token-counter';
import { ThreadEvents } from '../threads/thread-events';
import { endEvents, textOf } from './answer-events';
import { MessagesRepository } from './messages.repository';

/**
 * Answers whose pod died mid-answer. Every pod sweeps the registry for answers past their
 * heartbeat deadline; the one that claims an answer stores it as `interrupted` with the
 * text its stream holds, ends the stream for its readers (`error` INTERRUPTED, `close`)
 * and frees the thread+model. In the single-process embedded mode there is no other pod:
 * at start, the previous run's answers that never got stored are finalised the same way
 * (their streamed text died with that process).
 */
@Injectable()
export class OrphanedAnswers implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OrphanedAnswers');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly registry: GenerationRegistry,
    private readonly bus: StreamBus,
    private readonly repository: MessagesRepository,
    private readonly tokens: TokenCounter,
    private readonly threadEvents: ThreadEvents,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.REDIS_URL) {
      this.timer = setInterval(() => void this.sweep(), this.config.GENERATION_HEARTBEAT_MS).unref();
    } else if (!this.config.DATABASE_URL) {
      // Only the embedded database is this process's alone; on a shared PostgreSQL another
      // process without Redis may be answering right now.
      await this.finaliseLeftovers().catch((error: Error) => this.logger.warn(`Finalising the previous run's answers failed: ${error.message}`));
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One sweep at a time per pod; resolves when it is done. Never rejects. */
  sweep(): Promise<void> {
    this.sweeping ??= this.claimAndFinalise()
      .catch((error: Error) => this.logger.warn(`Sweeping for interrupted answers failed: ${error.message}`))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async claimAndFinalise(): Promise<void> {
    for (const record of await this.registry.claimOrphans()) await this.finalise(record);
  }

  private async finalise(record: GenerationRecord): Promise<void> {
    const { messageId, threadId, modelId } = record;
    // Readers get the end first, and the stored text is exactly what they were given.
    const end = endEvents(messageId, 0, { status: 'failed', code: ErrorCode.INTERRUPTED }).map(({ event, data }) => ({ event, data }));
    const { events } = await this.bus.abandon(messageId, end);
    const { text } = textOf(events);
    let status = 'interrupted';
    try {
      await this.repository.insertInterrupted(record, text, await this.tokens.count(text));
    } catch (error) {
      // Its pod stored it after all, or the thread is gone: either way nothing is left to store.
      if (!isUniqueViolation(error) && (await this.repository.threadExists(threadId))) throw error;
      status = (await this.repository.find(threadId, modelId, messageId))?.status ?? 'error';
    }
    await this.registry.release(record);
    this.threadEvents.announce(threadId, 'message_error', { messageId, modelId, status, code: ErrorCode.INTERRUPTED });
    this.logger.warn({ messageId, threadId, characters: text.length }, 'Finalised an answer whose server stopped mid-answer');
  }

  /** The embedded mode's restart: user messages left without an answer get an empty interrupted one. */
  private async finaliseLeftovers(): Promise<void> {
    const stored = await this.repository.answerLeftovers();
    if (stored) this.logger.warn(`Stored ${stored} answer(s) of the previous run as interrupted`);
  }
}
