import { Injectable } from '@nestjs/common';
import { MessageStatus, Prisma, UsageSource } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { UsageLineDto } from './usage.dto';

/** Per-call usage rows of the gateway and the stateless LLM endpoints. */
/** One call's record, as the batching writer queues it. */
export interface NewUsageRecord {
  userId: string;
  apiTokenId: string | null;
  source: UsageSource;
  modelId: string;
  status: MessageStatus;
  errorCode: string | null;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number | null;
  reasoningTokens: number | null;
  cost: number | null;
  latencyMs: number;
  cached: boolean;
  /** ISO time of the call. */
  createdAt: string;
}

@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Many records in one statement (the batching writer's flush). One column array per
   * field, so the statement is the same whatever the batch size: createMany's would differ
   * with every size, and each new shape costs the query compiler a few milliseconds.
   * Enum arrays travel as text[] (PGlite's driver cannot send an enum array itself).
   */
  async insertMany(rows: NewUsageRecord[]): Promise<void> {
    const column = <K extends keyof NewUsageRecord>(key: K) => rows.map((r) => r[key]);
    await this.prisma.$executeRaw`
      INSERT INTO usage_records (id, user_id, api_token_id, source, model_id, status, error_code, prompt_tokens, completion_tokens,
        cached_prompt_tokens, reasoning_tokens, cost, latency_ms, cached, created_at)
      SELECT gen_random_uuid(), * FROM unnest(
        ${column('userId')}::uuid[], ${column('apiTokenId')}::uuid[], ${column('source')}::text[]::"UsageSource"[], ${column('modelId')}::text[],
        ${column('status')}::text[]::"MessageStatus"[], ${column('errorCode')}::text[], ${column('promptTokens')}::int[], ${column('completionTokens')}::int[],
        ${column('cachedPromptTokens')}::int[], ${column('reasoningTokens')}::int[],
        ${column('cost')}::numeric[], ${column('latencyMs')}::int[], ${column('cached')}::boolean[], ${column('createdAt')}::timestamptz[])`;
  }

  /** Calls, tokens and cost per source and model since a date. */
  async totals(userId: string, since: Date) {
    const groups = await this.prisma.usageRecord.groupBy({
      by: ['source', 'modelId'],
      where: { userId, createdAt: { gte: since } },
      _count: { _all: true },
      _sum: { promptTokens: true, completionTokens: true, cachedPromptTokens: true, reasoningTokens: true, cost: true },
      orderBy: [{ source: 'asc' }, { modelId: 'asc' }],
    });
    return groups.map((g) => toLine(g.source, g));
  }

  /** Chat answers' usage (stored on their assistant messages) per model since a date. */
  async chatTotals(userId: string, since: Date) {
    const groups = await this.prisma.message.groupBy({
      by: ['modelId'],
      where: { role: 'assistant', createdAt: { gte: since }, thread: { userId } },
      _count: { _all: true },
      _sum: { promptTokens: true, completionTokens: true, cachedPromptTokens: true, reasoningTokens: true, cost: true },
      orderBy: { modelId: 'asc' },
    });
    return groups.map((g) => toLine('chat', g));
  }
}

/** One group-by row of either table as a usage line. */
function toLine(source: UsageLineDto['source'], group: UsageGroup): UsageLineDto {
  return {
    source,
    modelId: group.modelId,
    requests: group._count._all,
    promptTokens: group._sum.promptTokens ?? 0,
    completionTokens: group._sum.completionTokens ?? 0,
    cachedPromptTokens: group._sum.cachedPromptTokens ?? 0,
    reasoningTokens: group._sum.reasoningTokens ?? 0,
    cost: group._sum.cost === null ? null : Number(group._sum.cost),
  };
}

interface UsageGroup {
  modelId: string;
  _count: { _all: number };
  _sum: { promptTokens: number | null; completionTokens: number | null; cachedPromptTokens: number | null; reasoningTokens: number | null; cost: Prisma.Decimal | null };
}
