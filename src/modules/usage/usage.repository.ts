import { Injectable } from '@nestjs/common';
import { Prisma } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { UsageLineDto } from './usage.dto';

/** Per-call usage rows of the gateway and the stateless LLM endpoints. */
@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Many records in one statement (the batching writer's flush). */
  async insertMany(data: Prisma.UsageRecordCreateManyInput[]): Promise<void> {
    await this.prisma.usageRecord.createMany({ data });
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
    return groups.map((g) => toLine(g.source, g));
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
    cost: group._sum.cost === null ? null : Number(group._sum.cost),
  };
}

interface UsageGroup {
  modelId: string;
  _count: { _all: number };
  _sum: { promptTokens: number | null; completionTokens: number | null; cost: Prisma.Decimal | null };
}
