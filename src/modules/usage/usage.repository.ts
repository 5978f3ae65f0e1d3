import { Injectable } from '@nestjs/common';
import { Prisma, UsageRecord } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

/** Per-call usage rows of the gateway and the stateless LLM endpoints. */
@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  insert(data: Prisma.UsageRecordUncheckedCreateInput): Promise<UsageRecord> {
    return this.prisma.usageRecord.create({ data });
  }

  /** Calls, tokens and cost per source and model since a date. */
  async totals(userId: string, since: Date) {
    const groups = await this.prisma.usageRecord.groupBy({
      by: ['source', 'modelId'],
      where: { userId, createdAt: { gte: since } },
      _count: { _all: true },
      _sum: { promptTokens: true, completionTokens: true, cost: true },
      orderBy: [{ source: 'asc' }, { modelId: 'asc' }],
    });
    return groups.map((g) => ({
      source: g.source,
      modelId: g.modelId,
      requests: g._count._all,
      promptTokens: g._sum.promptTokens ?? 0,
      completionTokens: g._sum.completionTokens ?? 0,
      cost: g._sum.cost === null ? null : Number(g._sum.cost),
    }));
  }

  /** Chat answers' usage (stored on their assistant messages) per model since a date. */
  async chatTotals(userId: string, since: Date) {
    const groups = await this.prisma.message.groupBy({
      by: ['modelId'],
      where: { role: 'assistant', createdAt: { gte: since }, thread: { userId } },
      _count: { _all: true },
      _sum: { promptTokens: true, completionTokens: true, cost: true },
      orderBy: { modelId: 'asc' },
    });
    return groups.map((g) => ({
      source: 'chat' as const,
      modelId: g.modelId,
      requests: g._count._all,
      promptTokens: g._sum.promptTokens ?? 0,
      completionTokens: g._sum.completionTokens ?? 0,
      cost: g._sum.cost === null ? null : Number(g._sum.cost),
    }));
  }
}
