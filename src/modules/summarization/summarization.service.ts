import { HttpStatus, Injectable, OnModuleInit } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { Message } from '../../infra/database/generated/client';
import { JobQueue } from '../../infra/queue/job-queue';
import { ModelsService } from '../models/models.service';
import { CatalogEntry } from '../models/models.dto';
import { ProviderRegistry } from '../models/provider-registry';
import { TokenCounter } from '../models/token-counter';
import { SummaryDto } from './summarization.dto';
import { SUMMARY_INSTRUCTIONS, TITLE_INSTRUCTIONS } from './summarization.prompts';
import { SummarizationRepository } from './summarization.repository';
import { ThreadEvents } from '../threads/thread-events';

/** Seed 001's bounds for a summary. */
export const SUMMARY_MAX_TOKENS = 700;
const TITLE_MAX_TOKENS = 20;
/** The newest exchange stays verbatim in the context; older messages get summarized. */
const KEEP_RECENT = 2;
const CALL_TIMEOUT_MS = 60_000;

interface SummarizeJob {
  userId: string;
  threadId: string;
  modelId: string;
}

interface TitleJob extends SummarizeJob {
  firstMessage: string;
}

/**
 * Keeps each model's context bounded: a rolling summary of the messages that no longer
 * need to be sent verbatim, written in the background when the unsummarized history
 * passes a share of the model's budget, and on demand. Never in the way of a chat: jobs
 * run off the request path, and without a summary the context is simply truncated.
 */
@Injectable()
export class SummarizationService implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    private readonly repository: SummarizationRepository,
    private readonly models: ModelsService,
    private readonly registry: ProviderRegistry,
    private readonly tokens: TokenCounter,
    private readonly queue: JobQueue,
    private readonly threadEvents: ThreadEvents,
  ) {}

  onModuleInit(): void {
    this.queue.register<SummarizeJob>('summarize', (job) => this.summarize(job.userId, job.threadId, job.modelId, KEEP_RECENT).then(() => undefined));
    this.queue.register<TitleJob>('title', (job) => this.title(job));
  }

  /** A model's summary and the newest messages it does not cover, newest first: what its context is built from. */
  async contextOf(threadId: string, modelId: string, take: number): Promise<{ summary: string | null; recent: Message[] }> {
    const context = await this.repository.context(threadId, modelId);
    const recent = await this.repository.recentUnsummarized(threadId, modelId, take, context?.lastSummarizedId);
    return { summary: context?.summary ?? null, recent };
  }

  /** Called after each completed exchange: schedules a summary and, for a new thread, a title. */
  async afterExchange(userId: string, threadId: string, entry: CatalogEntry, firstMessage?: string): Promise<void> {
    if (firstMessage !== undefined) await this.queue.enqueue<TitleJob>('title', threadId, { userId, threadId, modelId: entry.id, firstMessage });
    const key = `${threadId}:${entry.id}`;
    if (await this.queue.isPending('summarize', key)) return;
    const context = await this.repository.context(threadId, entry.id);
    const pending = await this.repository.unsummarizedSize(threadId, entry.id, context?.lastSummarizedId);
    if (pending.messages > KEEP_RECENT && pending.tokens > this.triggerTokens(entry)) {
      await this.queue.enqueue<SummarizeJob>('summarize', key, { userId, threadId, modelId: entry.id });
    }
  }

  /** The unsummarized history size that triggers a summary: a share of what fits the window. */
  triggerTokens(entry: CatalogEntry): number {
    const replyBudget = entry.maxOutputTokens ?? 1024;
    return Math.floor((entry.contextLength - Math.min(replyBudget, entry.contextLength / 4)) * this.config.SUMMARY_TRIGGER_FRACTION);
  }

  /**
   * Writes the summary from the previous summary plus the messages since it (all of them
   * when `keepRecent` is 0, as for the manual endpoint).
   */
  async summarize(userId: string, threadId: string, modelId: string, keepRecent = 0): Promise<SummaryDto> {
    const context = await this.repository.context(threadId, modelId);
    const pending = await this.repository.unsummarized(threadId, modelId, context?.lastSummarizedId);
    const covered = pending.slice(0, Math.max(0, pending.length - keepRecent));
    if (!covered.length) {
      if (context?.summary) {
        return { summary: context.summary, tokens: context.summaryTokens ?? 0, generatedAt: context.summaryUpdatedAt!, modelUsed: context.summaryModel ?? modelId };
      }
      throw new AppException(ErrorCode.UNPROCESSABLE, 'There is nothing to summarize yet', HttpStatus.UNPROCESSABLE_ENTITY);
    }
    const summaryModel = this.config.SUMMARY_MODEL ?? modelId;
    const input = `Previous summary:\n${context?.summary || '(none)'}\n\nNew messages:\n${transcript(covered)}`;
    const raw = await this.call(userId, summaryModel, SUMMARY_INSTRUCTIONS, input, SUMMARY_MAX_TOKENS);
    const summary = this.tokens.truncate(raw.trim(), SUMMARY_MAX_TOKENS);
    const saved = await this.repository.saveSummary(threadId, modelId, {
      summary,
      summaryTokens: await this.tokens.count(summary),
      summaryModel,
      lastSummarizedId: covered[covered.length - 1].id,
    });
    this.threadEvents.announce(threadId, 'thread_updated', { summaryModelId: modelId });
    return { summary, tokens: saved.summaryTokens ?? 0, generatedAt: saved.summaryUpdatedAt!, modelUsed: summaryModel };
  }

  private async title(job: TitleJob): Promise<void> {
    // Two models answering a thread's first message each schedule a title; one is enough.
    if (!(await this.repository.needsTitle(job.threadId))) return;
    const raw = await this.call(job.userId, this.config.SUMMARY_MODEL ?? job.modelId, TITLE_INSTRUCTIONS, job.firstMessage.slice(0, 2000), TITLE_MAX_TOKENS);
    const title = raw.replace(/^["'\s]+|["'\s.]+$/g, '').split('\n')[0].slice(0, 80);
    if (title && (await this.repository.setAutomaticTitle(job.threadId, title))) this.threadEvents.announce(job.threadId, 'thread_updated', { title });
  }

  private async call(userId: string, modelId: string, instructions: string, input: string, maxTokens: number): Promise<string> {
    const { entry, providerName, apiKey } = await this.models.resolve(userId, modelId);
    const result = await this.registry.complete(
      providerName,
      { model: entry.model, messages: [{ role: 'system', content: instructions }, { role: 'user', content: input }], maxTokens, temperature: Math.min(0.3, entry.temperatureRange.max), apiKey },
      AbortSignal.timeout(CALL_TIMEOUT_MS),
    );
    return result.text;
  }
}

function transcript(messages: Message[]): string {
  return messages.map((m) => `${m.role === 'user' ? 'User' : 'Assistant'}: ${m.content}`).join('\n\n');
}
