import { Injectable } from '@nestjs/common';
import { Cursor } from '../../common/http/cursor';
import { Message, MessageStatus, Prisma } from '../../infra/database/generated/client';
import { costOf } from '../models/model-catalog';
import { CatalogEntry } from '../models/models.dto';
import { PrismaService } from '../../infra/database/prisma.service';

export interface StoredAnswer {
  text: string;
  status: MessageStatus;
  errorCode: string | null;
  finishReason: string | null;
  promptTokens: number | null;
  completionTokens: number;
  temperature: number | null;
  latencyMs: number;
}

/** Messages and per-model contexts: written once each, in a constant number of statements per exchange. */
@Injectable()
export class MessagesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts a message and moves the thread's updatedAt, in one transaction. */
  async insert(data: Prisma.MessageUncheckedCreateInput): Promise<Message> {
    const [message] = await this.prisma.$transaction([
      this.prisma.message.create({ data }),
      this.prisma.thread.update({ where: { id: data.threadId }, data: { updatedAt: new Date() } }),
    ]);
    return message;
  }

  /**
   * An answer, stored once when it ends: its tokens, cost at the catalog's prices and,
   * for one that did not complete, its status as the finish reason.
   */
  insertAnswer(threadId: string, entry: CatalogEntry, answer: StoredAnswer, id?: string): Promise<Message> {
    const { text, finishReason, ...rest } = answer;
    return this.insert({
      ...(id ? { id } : {}),
      threadId,
      modelId: entry.id,
      role: 'assistant',
      content: text,
      ...rest,
      tokens: answer.completionTokens,
      finishReason: finishReason ?? (answer.status === 'complete' ? null : answer.status),
      latencyMs: Math.round(answer.latencyMs),
      cost: costOf(entry, answer.promptTokens, answer.completionTokens),
    });
  }

  find(threadId: string, modelId: string, id: string): Promise<Message | null> {
    return this.prisma.message.findFirst({ where: { id, threadId, modelId } });
  }

  list(threadId: string, modelId: string, limit: number, order: 'asc' | 'desc', after?: Cursor): Promise<Message[]> {
    const cmp = order === 'desc' ? 'lt' : 'gt';
    return this.prisma.message.findMany({
      where: {
        threadId,
        modelId,
        ...(after ? { OR: [{ createdAt: { [cmp]: new Date(after.v) } }, { createdAt: new Date(after.v), id: { [cmp]: after.id } }] } : {}),
      },
      orderBy: [{ createdAt: order }, { id: order }],
      take: limit + 1,
    });
  }

  countInThread(threadId: string): Promise<number> {
    return this.prisma.message.count({ where: { threadId } });
  }
}
