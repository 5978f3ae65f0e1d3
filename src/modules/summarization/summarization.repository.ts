import { Injectable } from '@nestjs/common';
import { Message, ThreadModelContext } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';
import { DEFAULT_TITLE } from '../threads/threads.service';

/** Per-model summaries and the thread fields they feed (summary, automatic title). */
@Injectable()
export class SummarizationRepository {
  constructor(private readonly prisma: PrismaService) {}

  context(threadId: string, modelId: string): Promise<ThreadModelContext | null> {
    return this.prisma.threadModelContext.findUnique({ where: { threadId_modelId: { threadId, modelId } } });
  }

  private async unsummarizedWhere(threadId: string, modelId: string, lastSummarizedId?: string | null) {
    const since = lastSummarizedId ? await this.prisma.message.findUnique({ where: { id: lastSummarizedId }, select: { createdAt: true } }) : null;
    return { threadId, modelId, status: 'complete' as const, ...(since ? { createdAt: { gt: since.createdAt } } : {}) };
  }

  /** Complete messages of one model's conversation not yet covered by its summary, oldest first. */
  async unsummarized(threadId: string, modelId: string, lastSummarizedId?: string | null): Promise<Message[]> {
    return this.prisma.message.findMany({
      where: await this.unsummarizedWhere(threadId, modelId, lastSummarizedId),
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  /** The newest of them first, at most `take`: what a model's context is filled from. */
  async recentUnsummarized(threadId: string, modelId: string, take: number, lastSummarizedId?: string | null): Promise<Message[]> {
    return this.prisma.message.findMany({
      where: await this.unsummarizedWhere(threadId, modelId, lastSummarizedId),
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  /** How many such messages and their stored token counts: one aggregate, checked after every exchange. */
  async unsummarizedSize(threadId: string, modelId: string, lastSummarizedId?: string | null): Promise<{ messages: number; tokens: number }> {
    const result = await this.prisma.message.aggregate({
      where: await this.unsummarizedWhere(threadId, modelId, lastSummarizedId),
      _count: { _all: true },
      _sum: { tokens: true },
    });
    return { messages: result._count._all, tokens: result._sum.tokens ?? 0 };
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
  /** Whether the thread still has the default title, which only an automatic title replaces. */
  async needsTitle(threadId: string): Promise<boolean> {
    return (await this.prisma.thread.count({ where: { id: threadId, titleByUser: false, title: DEFAULT_TITLE } })) === 1;
  }

  /** Sets a generated title unless the user or an earlier title job named the thread meanwhile. */
  async setAutomaticTitle(threadId: string, title: string): Promise<boolean> {
    const { count } = await this.prisma.thread.updateMany({ where: { id: threadId, titleByUser: false, title: DEFAULT_TITLE }, data: { title } });
    return count === 1;
  }

  messageCount(threadId: string): Promise<number> {
    return this.prisma.message.count({ where: { threadId } });
  }
}
