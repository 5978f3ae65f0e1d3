import { Injectable } from '@nestjs/common';
import { Cursor } from '../../common/http/cursor';
import { Prisma, Thread } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

export interface ThreadListOptions {
  limit: number;
  orderBy: 'createdAt' | 'updatedAt';
  order: 'asc' | 'desc';
  after?: Cursor;
}

/** Thread plus what list items show, gathered in a fixed number of queries per page. */
export interface ThreadRow extends Thread {
  messageCount: number;
  activeModels: string[];
  lastMessage: { content: string; role: 'user' | 'assistant'; modelId: string; createdAt: Date } | null;
  rank?: number;
}

/** Same expressions as the GIN indexes of the threads_messages migration. */
const THREAD_DOC = Prisma.sql`to_tsvector('english', t."title" || ' ' || coalesce(t."summary", ''))`;
const MESSAGE_DOC = Prisma.sql`to_tsvector('english', m."content")`;

@Injectable()
export class ThreadsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(userId: string, title: string, titleByUser: boolean): Promise<Thread> {
    return this.prisma.thread.create({ data: { userId, title, titleByUser } });
  }

  /** The thread if this user owns it; anyone else's is indistinguishable from a missing one. */
  findOwned(userId: string, id: string): Promise<Thread | null> {
    return this.prisma.thread.findFirst({ where: { id, userId } });
  }

  rename(id: string, title: string): Promise<Thread> {
    return this.prisma.thread.update({ where: { id }, data: { title, titleByUser: true, updatedAt: new Date() } });
  }

  /** Deletes the thread, its messages and contexts in one transaction; returns the message count. */
  async delete(id: string): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.message.deleteMany({ where: { threadId: id } });
      await tx.threadModelContext.deleteMany({ where: { threadId: id } });
      await tx.thread.delete({ where: { id } });
      return count;
    });
  }

  async list(userId: string, options: ThreadListOptions): Promise<{ rows: ThreadRow[]; totalCount: number }> {
    const { limit, orderBy, order, after } = options;
    const cmp = order === 'desc' ? 'lt' : 'gt';
    const where: Prisma.ThreadWhereInput = {
      userId,
      ...(after ? { OR: [{ [orderBy]: { [cmp]: new Date(after.v) } }, { [orderBy]: new Date(after.v), id: { [cmp]: after.id } }] } : {}),
    };
    const [threads, totalCount] = await Promise.all([
      this.prisma.thread.findMany({ where, orderBy: [{ [orderBy]: order }, { id: order }], take: limit + 1 }),
      this.prisma.thread.count({ where: { userId } }),
    ]);
    return { rows: await this.decorate(threads), totalCount };
  }

  /**
   * Full-text search over title + summary and message content, plus trigram similarity on
   * titles (typos), ranked; keyset on (rank, id).
   */
  async search(userId: string, q: string, limit: number, after?: Cursor): Promise<{ rows: ThreadRow[]; totalCount: number }> {
    const matches = Prisma.sql`
      FROM "threads" t, websearch_to_tsquery('english', ${q}) AS query
      WHERE t."user_id" = ${userId}::uuid AND (
        ${THREAD_DOC} @@ query
        OR t."title" % ${q}
        OR EXISTS (SELECT 1 FROM "messages" m WHERE m."thread_id" = t."id" AND ${MESSAGE_DOC} @@ query)
      )`;
    const rank = Prisma.sql`(
        ts_rank(${THREAD_DOC}, query) * 2
        + similarity(t."title", ${q})
        + coalesce((SELECT max(ts_rank(${MESSAGE_DOC}, query)) FROM "messages" m WHERE m."thread_id" = t."id" AND ${MESSAGE_DOC} @@ query), 0)
      )::float8`;
    const keyset = after ? Prisma.sql`WHERE (r.rank < ${Number(after.v)}::float8 OR (r.rank = ${Number(after.v)}::float8 AND r.id < ${after.id}::uuid))` : Prisma.empty;
    const [ranked, [{ count }]] = await Promise.all([
      this.prisma.$queryRaw<Array<{ id: string; rank: number }>>`
        SELECT r.id, r.rank FROM (SELECT t."id" AS id, ${rank} AS rank ${matches}) r
        ${keyset}
        ORDER BY r.rank DESC, r.id DESC
        LIMIT ${limit + 1}`,
      this.prisma.$queryRaw<Array<{ count: bigint }>>`SELECT count(*) AS count ${matches}`,
    ]);
    const threads = await this.prisma.thread.findMany({ where: { id: { in: ranked.map((r) => r.id) } } });
    const byId = new Map(threads.map((t) => [t.id, t]));
    const rows = await this.decorate(ranked.map((r) => byId.get(r.id)!).filter(Boolean));
    const rankOf = new Map(ranked.map((r) => [r.id, r.rank]));
    return { rows: rows.map((row) => ({ ...row, rank: rankOf.get(row.id) })), totalCount: Number(count) };
  }

  /** Counts, models and last message for a page of threads: three queries whatever the page size. */
  private async decorate(threads: Thread[]): Promise<ThreadRow[]> {
    if (!threads.length) return [];
    const ids = threads.map((t) => t.id);
    const [perModel, last] = await Promise.all([
      this.prisma.message.groupBy({ by: ['threadId', 'modelId'], where: { threadId: { in: ids } }, _count: { _all: true } }),
      this.prisma.$queryRaw<Array<{ thread_id: string; content: string; role: 'user' | 'assistant'; model_id: string; created_at: Date }>>`
        SELECT DISTINCT ON (m."thread_id") m."thread_id", m."content", m."role"::text AS role, m."model_id", m."created_at"
        FROM "messages" m WHERE m."thread_id" IN (${Prisma.join(ids.map((id) => Prisma.sql`${id}::uuid`))})
        ORDER BY m."thread_id", m."created_at" DESC, m."id" DESC`,
    ]);
    const lastBy = new Map(last.map((m) => [m.thread_id, { content: m.content, role: m.role, modelId: m.model_id, createdAt: m.created_at }]));
    return threads.map((t) => {
      const models = perModel.filter((p) => p.threadId === t.id);
      return {
        ...t,
        messageCount: models.reduce((n, p) => n + p._count._all, 0),
        activeModels: models.map((p) => p.modelId).sort(),
        lastMessage: lastBy.get(t.id) ?? null,
      };
    });
  }

  /** Per-model counts, last message time and summary of one thread. */
  async modelsOf(threadId: string) {
    const [perModel, contexts] = await Promise.all([
      this.prisma.message.groupBy({ by: ['modelId'], where: { threadId }, _count: { _all: true }, _max: { createdAt: true } }),
      this.prisma.threadModelContext.findMany({ where: { threadId } }),
    ]);
    const ids = new Set([...perModel.map((p) => p.modelId), ...contexts.map((c) => c.modelId)]);
    return [...ids].sort().map((modelId) => {
      const stats = perModel.find((p) => p.modelId === modelId);
      const context = contexts.find((c) => c.modelId === modelId);
      return {
        modelId,
        messageCount: stats?._count._all ?? 0,
        lastMessageAt: stats?._max.createdAt ?? null,
        summary: context?.summary ?? null,
        summaryUpdatedAt: context?.summaryUpdatedAt ?? null,
      };
    });
  }
}
