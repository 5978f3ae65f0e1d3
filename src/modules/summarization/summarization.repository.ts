import { Injectable } from '@nestjs/common';
import { Message, ThreadModelContext } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

/** Per-model summaries and the thread fields they feed (summary, automatic title). */
@Injectable()
export class SummarizationRepository {
  constructor(private readonly prisma: PrismaService) {}

  context(threadId: string, modelId: string): Promise<ThreadModelContext | null> {
    return this.prisma.threadModelContext.findUnique({ where: { threadId_modelId: { threadId, modelId } } });
  }

  /** Complete messages of one model's conversation not yet covered by its summary, oldest first. */
  async unsummarized(threadId: string, modelId: string, lastSummarizedId?: string | null): Promise<Message[]> {
    const since = lastSummarizedId ? await this.prisma.message.findUnique({ where: { id: lastSummarizedId }, select: { createdAt: true } }) : null;
    return this.prisma.message.findMany({
      where: { threadId, modelId, status: 'complete', ...(since ? { createdAt: { gt: since.createdAt } } : {}) },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  /** Stores a model's summary and makes it the thread's summary, in one transaction. */
  async saveSummary(threadId: string, modelId: string, data: { summary: string; summaryTokens: number; summaryModel: string; lastSummarizedId: string }) {
    const summaryUpdatedAt = new Date();
    const [context] = await this.prisma.$transaction([
      this.prisma.threadModelContext.upsert({
        where: { threadId_modelId: { threadId, modelId } },
        create: { threadId, modelId, ...data, summaryUpdatedAt },
        update: { ...data, summaryUpdatedAt },
      }),
      this.prisma.thread.update({ where: { id: threadId }, data: { summary: data.summary } }),
    ]);
    return context;
  }

  /** Sets an automatic title unless the user has named the thread meanwhile. */
  async setAutomaticTitle(threadId: string, title: string): Promise<boolean> {
    const { count } = await this.prisma.thread.updateMany({ where: { id: threadId, titleByUser: false }, data: { title } });
    return count === 1;
  }

  messageCount(threadId: string): Promise<number> {
    return this.prisma.message.count({ where: { threadId } });
  }
}
