import { Injectable } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { decodeCursor, encodeCursor, isIsoDate } from '../../common/http/cursor';
import { Paginated } from '../../common/http/envelope';
import { Thread } from '../../infra/database/generated/client';
import { RunningGenerations } from '../../infra/generations/running-generations';
import { AuditAction, AuditService } from '../audit/audit.service';
import {
  CreateThreadDto,
  DeletedThreadDto,
  ListThreadsQueryDto,
  ThreadDetailDto,
  ThreadListDto,
  ThreadSummaryDto,
} from './threads.dto';
import { ThreadEvents } from './thread-events';
import { ThreadRow, ThreadsRepository } from './threads.repository';

export const DEFAULT_TITLE = 'New conversation';

function toSummary(row: ThreadRow): ThreadSummaryDto {
  return {
    id: row.id,
    title: row.title,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    messageCount: row.messageCount,
    activeModels: row.activeModels,
    lastMessage: row.lastMessage
      ? { content: row.lastMessage.content, role: row.lastMessage.role, model: row.lastMessage.modelId, timestamp: row.lastMessage.createdAt }
      : null,
    summary: row.summary,
  };
}

@Injectable()
export class ThreadsService {
  constructor(
    private readonly repository: ThreadsRepository,
    private readonly generations: RunningGenerations,
    private readonly audit: AuditService,
    private readonly events: ThreadEvents,
  ) {}

  async list(userId: string, query: ListThreadsQueryDto): Promise<Paginated<ThreadListDto>> {
    const { limit } = query;
    const q = query.q?.trim();
    // A search ranks by relevance; its cursor carries the rank, a plain list's a timestamp.
    const after = query.cursor ? decodeCursor(query.cursor, q ? (v) => Number.isFinite(Number(v)) : isIsoDate) : undefined;
    const orderBy = query.orderBy === 'created_at' ? 'createdAt' : 'updatedAt';
    const { rows, totalCount } = q
      ? await this.repository.search(userId, q, limit, after)
      : await this.repository.list(userId, { limit, orderBy, order: query.order, after });
    const hasMore = rows.length > limit;
    const page = hasMore ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    const cursor = hasMore && last ? encodeCursor({ v: q ? String(last.rank) : last[orderBy].toISOString(), id: last.id }) : null;
    return new Paginated({ threads: page.map(toSummary) }, { cursor, limit, hasMore, totalCount });
  }

  async create(userId: string, dto: CreateThreadDto): Promise<ThreadSummaryDto> {
    const title = dto.title?.trim();
    const thread = await this.repository.create(userId, title || DEFAULT_TITLE, Boolean(title));
    return toSummary({ ...thread, messageCount: 0, activeModels: [], lastMessage: null });
  }

  async get(userId: string, id: string): Promise<ThreadDetailDto> {
    const thread = await this.owned(userId, id);
    const models = await this.repository.modelsOf(id);
    return {
      id: thread.id,
      title: thread.title,
      createdAt: thread.createdAt,
      updatedAt: thread.updatedAt,
      messageCount: models.reduce((n, m) => n + m.messageCount, 0),
      summary: thread.summary,
      models: Object.fromEntries(models.map(({ modelId, ...rest }) => [modelId, rest])),
    };
  }

  async rename(userId: string, id: string, title: string) {
    await this.owned(userId, id);
    const thread = await this.repository.rename(id, title.trim());
    this.events.announce(id, 'thread_updated', { title: thread.title });
    return { id: thread.id, title: thread.title, updatedAt: thread.updatedAt };
  }

  async delete(userId: string, id: string): Promise<DeletedThreadDto> {
    await this.owned(userId, id);
    // Answers still being written go first (stored as cancelled), so none is written after the delete.
    await this.generations.cancelThread(id);
    const deletedMessages = await this.repository.delete(id);
    await this.audit.recordForCurrentRequest({ action: AuditAction.ThreadDeleted, actorId: userId, target: id, metadata: { deletedMessages } });
    return { deletedThread: id, deletedMessages };
  }

  /** The thread, or 404 for a missing id and for another user's thread alike. */
  async owned(userId: string, id: string): Promise<Thread> {
    const thread = await this.repository.findOwned(userId, id);
    if (!thread) throw AppException.notFound('Thread');
    return thread;
  }
}
