import { HttpStatus, Injectable } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { decodeCursor, pageOf } from '../../common/http/cursor';
import { Paginated } from '../../common/http/envelope';
import { Message } from '../../infra/database/generated/client';
import { RunningGenerations } from '../../infra/generations/running-generations';
import { SequencedEvent, StreamBus } from '../../infra/stream-bus/stream-bus';
import { ModerationService } from '../moderation/moderation.service';
import { ThreadsService } from '../threads/threads.service';
import { GenerationService } from './generation.service';
import { ChatMessageDto, ExchangeDto, ListMessagesQueryDto, MessageListDto } from './messages.dto';
import { MessagesRepository } from './messages.repository';

export function toMessageDto(m: Message): ChatMessageDto {
  return {
    id: m.id,
    threadId: m.threadId,
    modelId: m.modelId,
    role: m.role,
    content: m.content,
    tokens: m.tokens,
    ...(m.role === 'assistant' ? { temperature: m.temperature, errorCode: m.errorCode } : {}),
    createdAt: m.createdAt,
    status: m.status,
  };
}

/** The events a finished message replays as, for clients that reconnect after the end. */
function replayOf(m: Message): SequencedEvent[] {
  const events = [
    { event: 'message_start', data: { messageId: m.id, timestamp: m.createdAt.toISOString() } },
    ...(m.content ? [{ event: 'token', data: { token: m.content, messageId: m.id } }] : []),
    m.status === 'complete'
      ? { event: 'message_complete', data: { messageId: m.id, totalTokens: m.tokens ?? 0, finishReason: m.finishReason, timestamp: m.createdAt.toISOString() } }
      : { event: 'error', data: { code: m.errorCode ?? 'PROVIDER_ERROR', message: 'The answer did not complete', messageId: m.id } },
    { event: 'close', data: {} },
  ];
  return events.map((e, i) => ({ ...e, id: i + 1 }));
}

@Injectable()
export class MessagesService {
  constructor(
    private readonly threads: ThreadsService,
    private readonly repository: MessagesRepository,
    private readonly generations: GenerationService,
    private readonly bus: StreamBus,
    private readonly moderation: ModerationService,
    private readonly running: RunningGenerations,
  ) {}

  async list(userId: string, threadId: string, modelId: string, query: ListMessagesQueryDto): Promise<Paginated<MessageListDto>> {
    await this.threads.owned(userId, threadId);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await this.repository.list(threadId, modelId, query.limit, query.order, after);
    const page = pageOf(rows, query.limit, (m) => m.createdAt.toISOString());
    return new Paginated({ messages: page.items.map(toMessageDto) }, { cursor: page.cursor, limit: query.limit, hasMore: page.hasMore });
  }

  async start(userId: string, threadId: string, modelId: string, content: string, temperature?: number) {
    const thread = await this.threads.owned(userId, threadId);
    this.moderation.check([content]);
    return this.generations.start(userId, thread, modelId, content, temperature);
  }

  /** Waits for the answer (non-streaming send); a failed answer is stored, then reported. */
  async exchange(userId: string, threadId: string, modelId: string, content: string, temperature?: number): Promise<ExchangeDto> {
    const started = await this.start(userId, threadId, modelId, content, temperature);
    const { message, failure } = await started.done;
    if (failure) throw failure;
    if (!message) throw new Error('unreachable: an answer that is not stored has a failure');
    const user = started.userMessage;
    return {
      userMessage: { id: user.id, content: user.content, createdAt: user.createdAt },
      assistantMessage: { id: message.id, content: message.content, tokens: message.tokens ?? 0, temperature: message.temperature, createdAt: message.createdAt },
    };
  }

  /**
   * Events of a message after `lastEventId`: live from the bus while it generates (or
   * shortly after), else replayed from the stored row.
   */
  async events(userId: string, threadId: string, modelId: string, messageId: string, lastEventId: number, signal: AbortSignal): Promise<AsyncIterable<SequencedEvent>> {
    await this.threads.owned(userId, threadId);
    // The id alone proves nothing: the message must be of this thread and model (the thread is the user's).
    const running = this.running.get(messageId);
    if (running) {
      if (running.threadId !== threadId || running.modelId !== modelId) throw AppException.notFound('Message');
      return this.bus.read(messageId, lastEventId, signal);
    }
    const stored = await this.repository.find(threadId, modelId, messageId);
    if (!stored || stored.role !== 'assistant') throw AppException.notFound('Message');
    // Shortly after the end the bus still has the stream, with the event ids the client holds.
    if (await this.bus.exists(messageId)) return this.bus.read(messageId, lastEventId, signal);
    return (async function* () {
      yield* replayOf(stored).filter((e) => e.id > lastEventId);
    })();
  }

  async cancel(userId: string, threadId: string, modelId: string, messageId: string): Promise<void> {
    await this.threads.owned(userId, threadId);
    if (this.generations.cancel(userId, messageId)) return;
    if (await this.repository.find(threadId, modelId, messageId)) {
      throw new AppException(ErrorCode.CONFLICT, 'This answer has already finished', HttpStatus.CONFLICT);
    }
    throw AppException.notFound('Message');
  }
}
