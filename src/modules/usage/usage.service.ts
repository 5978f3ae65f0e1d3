import { Injectable, Logger } from '@nestjs/common';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { MessageStatus, UsageSource } from '../../infra/database/generated/client';
import { costOf } from '../models/model-catalog';
import { CatalogEntry } from '../models/models.dto';
import { UsageSummaryDto } from './usage.dto';
import { UsageRepository } from './usage.repository';

export interface UsageEvent {
  user: AuthUser;
  source: UsageSource;
  entry: CatalogEntry;
  status: MessageStatus;
  errorCode?: string;
  promptTokens: number;
  completionTokens: number;
  latencyMs: number;
  /** Answered from the response cache: no tokens were spent upstream. */
  cached?: boolean;
}

const DAY_MS = 86_400_000;

@Injectable()
export class UsageService {
  private readonly logger = new Logger('Usage');

  constructor(private readonly repository: UsageRepository) {}

  /** Stores one call's tokens and cost; a failure to record never fails the call itself. */
  async record(event: UsageEvent): Promise<void> {
    const { user, entry, cached = false } = event;
    try {
      await this.repository.insert({
        userId: user.id,
        apiTokenId: user.tokenId ?? null,
        source: event.source,
        modelId: entry.id,
        status: event.status,
        errorCode: event.errorCode ?? null,
        promptTokens: event.promptTokens,
        completionTokens: event.completionTokens,
        cost: cached ? 0 : costOf(entry, event.promptTokens, event.completionTokens),
        latencyMs: Math.round(event.latencyMs),
        cached,
      });
    } catch (error) {
      this.logger.error({ err: error }, 'Recording usage failed');
    }
  }

  async summary(userId: string, days: number): Promise<UsageSummaryDto> {
    const since = new Date(Date.now() - days * DAY_MS);
    const [calls, chat] = await Promise.all([this.repository.totals(userId, since), this.repository.chatTotals(userId, since)]);
    const byModel = [...chat, ...calls];
    const totals = byModel.reduce(
      (sum, line) => ({
        requests: sum.requests + line.requests,
        promptTokens: sum.promptTokens + line.promptTokens,
        completionTokens: sum.completionTokens + line.completionTokens,
        cost: sum.cost + (line.cost ?? 0),
      }),
      { requests: 0, promptTokens: 0, completionTokens: 0, cost: 0 },
    );
    return { since, totals: { ...totals, cost: Math.round(totals.cost * 1e6) / 1e6 }, byModel };
  }
}
