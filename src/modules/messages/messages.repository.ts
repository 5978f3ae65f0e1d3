import { Injectable } from '@nestjs/common';
import { Cursor } from '../../common/http/cursor';
import { Message, Prisma } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

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
