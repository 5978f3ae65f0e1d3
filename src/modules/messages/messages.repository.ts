import { Injectable } from '@nestjs/common';
import { Cursor } from '../../common/http/cursor';
import { Message, MessageStatus, Prisma } from '../../infra/database/generated/client';
import { GenerationRecord } from '../../infra/generations/generation-registry';
import { costOf } from '../models/model-catalog';
import { ImageInput } from '../models/model-provider';
import { CatalogEntry } from '../models/models.dto';
import { PrismaService } from '../../infra/database/prisma.service';

export interface StoredAnswer {
  text: string;
  status: MessageStatus;
  errorCode: string | null;
  finishReason: string | null;
  promptTokens: number | null;
  completionTokens: number;
  /** Usage details, when the provider reports them. */
  cachedPromptTokens?: number | null;
  reasoningTokens?: number | null;
  temperature: number | null;
  latencyMs: number;
}

/** The images stored with a user message (the `images` JSON column), or none. */
export function imagesOf(message: Pick<Message, 'images'>): ImageInput[] {
  return Array.isArray(message.images) ? (message.images as unknown as ImageInput[]) : [];
}

/** The `images` column's value for a new message: null when it has none. */
export function storedImages(images: ImageInput[]): Prisma.InputJsonValue | undefined {
  return images.length ? images.map(({ mediaType, data }) => ({ mediaType, data })) : undefined;
}

/** Messages and per-model contexts: written once each, in a constant number of statements per exchange. */
@Injectable()
export class MessagesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts a message: one statement (a trigger moves the thread's updatedAt with it). */
  insert(data: Prisma.MessageUncheckedCreateInput): Promise<Message> {
    return this.prisma.message.create({ data });
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

  /** An answer whose server stopped mid-answer, with the text it had streamed (no usage known, so no cost). */
  insertInterrupted(record: GenerationRecord, text: string, tokens: number): Promise<Message> {
    return this.insert({
      id: record.messageId,
      threadId: record.threadId,
      modelId: record.modelId,
      role: 'assistant',
      content: text,
      status: 'interrupted',
      errorCode: 'INTERRUPTED',
      finishReason: 'interrupted',
      tokens,
      completionTokens: tokens,
      temperature: record.temperature,
      latencyMs: Math.max(0, Date.now() - record.startedAt),
    });
  }

  /**
   * For each thread+model whose newest message is a user message (its answer never stored:
   * the process died), stores an empty interrupted answer. Returns how many.
   */
  async answerLeftovers(): Promise<number> {
    const rows = await this.prisma.$queryRaw<Array<{ thread_id: string; model_id: string; role: string }>>`
      SELECT DISTINCT ON (thread_id, model_id) thread_id, model_id, role
      FROM messages ORDER BY thread_id, model_id, created_at DESC, id DESC`;
    const orphans = rows.filter((r) => r.role === 'user');
    if (!orphans.length) return 0;
    await this.prisma.message.createMany({
      data: orphans.map((r) => ({
        threadId: r.thread_id,
        modelId: r.model_id,
        role: 'assistant' as const,
        content: '',
        status: 'interrupted' as const,
        errorCode: 'INTERRUPTED',
        finishReason: 'interrupted',
        tokens: 0,
        completionTokens: 0,
      })),
    });
    return orphans.length;
  }

  async threadExists(threadId: string): Promise<boolean> {
    return (await this.prisma.thread.count({ where: { id: threadId } })) > 0;
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
