import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { isTransientDatabaseError } from '../../infra/database/database-errors';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { MessageStatus, UsageSource } from '../../infra/database/generated/client';
import { costOf } from '../models/model-catalog';
import { CatalogEntry } from '../models/models.dto';
import { UsageSummaryDto } from './usage.dto';
import { NewUsageRecord, UsageRepository } from './usage.repository';

export interface UsageEvent {
  user: AuthUser;
  source: UsageSource;
  entry: CatalogEntry;
  status: MessageStatus;
  errorCode?: string;
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt tokens, those the provider served from its cache (when it says). */
  cachedPromptTokens?: number;
  /** Of the completion tokens, those spent reasoning (when the provider says). */
  reasoningTokens?: number;
  latencyMs: number;
  /** Answered from the response cache: no tokens were spent upstream. */
  cached?: boolean;
}

const DAY_MS = 86_400_000;
/** How long a usage record may wait for its batch: what a `kill -9` can lose at most. */
export const USAGE_FLUSH_MS = 250;
/** A batch this full is written at once. */
const MAX_BATCH = 500;
/** Records kept while the database is away, beyond which the oldest are dropped (and logged). */
const MAX_PENDING = 50_000;

/**
 * Usage records (seed 003's call log) written by a batching writer: a call adds its record
 * to a batch, and the batch is one multi-row insert every USAGE_FLUSH_MS (or at MAX_BATCH),
 * off the request's path. Reads (`summary`) and shutdown flush first, so the process always
 * reads its own writes; a `kill -9` loses at most the last interval's records.
 */
@Injectable()
export class UsageService implements OnModuleDestroy {
  private readonly logger = new Logger('Usage');
  private pending: NewUsageRecord[] = [];
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly repository: UsageRepository) {}

  /** Queues one call's tokens and cost for the next batch; never fails the call itself. */
  async record(event: UsageEvent): Promise<void> {
    const { user, entry, cached = false } = event;
    this.pending.push({
      userId: user.id,
      apiTokenId: user.tokenId ?? null,
      source: event.source,
      modelId: entry.id,
      status: event.status,
      errorCode: event.errorCode ?? null,
      promptTokens: event.promptTokens,
      completionTokens: event.completionTokens,
      cachedPromptTokens: event.cachedPromptTokens ?? null,
      reasoningTokens: event.reasoningTokens ?? null,
      cost: cached ? 0 : costOf(entry, event.promptTokens, event.completionTokens),
      latencyMs: Math.round(event.latencyMs),
      cached,
      // The call's own time, not its batch's: records keep their order.
      createdAt: new Date().toISOString(),
    });
    if (this.pending.length >= MAX_BATCH) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), USAGE_FLUSH_MS).unref();
  }

  /** Writes every queued record (one statement per batch); resolves once they are stored or given up on. Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        await this.repository.insertMany(batch);
      } catch (error) {
        if (!isTransientDatabaseError(error)) {
          this.logger.error({ err: error, records: batch.length }, 'Recording usage failed; these records are dropped');
          continue;
        }
        // The database blinked: keep them for the next flush (bounded), and stop for now.
        this.pending = [...batch, ...this.pending].slice(-MAX_PENDING);
        this.logger.warn({ records: this.pending.length }, 'Recording usage failed, keeping the records for the next flush');
        this.timer ??= setTimeout(() => void this.flush(), USAGE_FLUSH_MS * 4).unref();
        return;
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.flush();
  }

  async summary(userId: string, days: number): Promise<UsageSummaryDto> {
    await this.flush();
    const since = new Date(Date.now() - days * DAY_MS);
    const [calls, chat] = await Promise.all([this.repository.totals(userId, since), this.repository.chatTotals(userId, since)]);
    const byModel = [...chat, ...calls];
    const totals = byModel.reduce(
      (sum, line) => ({
        requests: sum.requests + line.requests,
        promptTokens: sum.promptTokens + line.promptTokens,
        completionTokens: sum.completionTokens + line.completionTokens,
        cachedPromptTokens: sum.cachedPromptTokens + line.cachedPromptTokens,
        reasoningTokens: sum.reasoningTokens + line.reasoningTokens,
        cost: sum.cost + (line.cost ?? 0),
      }),
      { requests: 0, promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, reasoningTokens: 0, cost: 0 },
    );
    return { since, totals: { ...totals, cost: Math.round(totals.cost * 1e6) / 1e6 }, byModel };
  }
}
