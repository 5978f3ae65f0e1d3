import { HttpStatus, Injectable } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { decodeCursor, pageOf } from '../../common/http/cursor';
import { Paginated } from '../../common/http/envelope';
import { Message } from '../../infra/database/generated/client';
import { GenerationRegistry } from '../../infra/generations/generation-registry';
import { RunningGenerations } from '../../infra/generations/running-generations';
import { StreamBus, StreamEvent } from '../../infra/stream-bus/stream-bus';
import { AnswerPosition, isAfter, parseAnswerEventId, replayOf } from './answer-events';
import { ModerationService } from '../moderation/moderation.service';
import { ThreadsService } from '../threads/threads.service';
import { GenerationService } from './generation.service';
import { ChatMessageDto, ExchangeDto, ListMessagesQueryDto, MessageImageDto, MessageListDto, SendMessageDto } from './messages.dto';
import { imagesOf, MessagesRepository } from './messages.repository';

/** A user message's images as data: URLs (absent when it has none). */
function imagesDto(m: Message): { images?: MessageImageDto[] } {
  const images = imagesOf(m);
  return images.length ? { images: images.map((i) => ({ mediaType: i.mediaType, url: `data:${i.mediaType};base64,${i.data}` })) } : {};
}

export function toMessageDto(m: Message): ChatMessageDto {
  return {
    id: m.id,
    threadId: m.threadId,
    modelId: m.modelId,
    role: m.role,
    content: m.content,
    ...imagesDto(m),
    tokens: m.tokens,
    ...(m.role === 'assistant' ? { temperature: m.temperature, errorCode: m.errorCode } : {}),
    createdAt: m.createdAt,
    status: m.status,
  };
}

/** What a send carries: text, and optionally a temperature and images. */
export type SentMessage = Pick<SendMessageDto, 'content' | 'temperature' | 'images'>;

/** The events of a live or buffered stream after a client's position. */
async function* after(events: AsyncIterable<StreamEvent>, position: AnswerPosition | undefined): AsyncIterable<StreamEvent> {
  for await (const e of events) if (isAfter(e.id, position)) yield e;
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
    private readonly registry: GenerationRegistry,
  ) {}

  async list(userId: string, threadId: string, modelId: string, query: ListMessagesQueryDto): Promise<Paginated<MessageListDto>> {
    await this.threads.owned(userId, threadId);
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await this.repository.list(threadId, modelId, query.limit, query.order, after);
    const page = pageOf(rows, query.limit, (m) => m.createdAt.toISOString());
    return new Paginated({ messages: page.items.map(toMessageDto) }, { cursor: page.cursor, limit: query.limit, hasMore: page.hasMore });
  }

  async start(userId: string, threadId: string, modelId: string, message: SentMessage) {
    const thread = await this.threads.owned(userId, threadId);
    this.moderation.check([message.content]);
    const imageUrls = (message.images ?? []).map((i) => i.url);
    return this.generations.start(userId, thread, modelId, message.content, message.temperature, imageUrls);
  }

  /** Waits for the answer (non-streaming send); a failed answer is stored, then reported. */
  async exchange(userId: string, threadId: string, modelId: string, sent: SentMessage): Promise<ExchangeDto> {
    const started = await this.start(userId, threadId, modelId, sent);
    const { message, failure } = await started.done;
    if (failure) throw failure;
    if (!message) throw new Error('unreachable: an answer that is not stored has a failure');
    const user = started.userMessage;
    return {
      userMessage: { id: user.id, content: user.content, ...imagesDto(user), createdAt: user.createdAt },
      assistantMessage: { id: message.id, content: message.content, tokens: message.tokens ?? 0, temperature: message.temperature, createdAt: message.createdAt },
    };
  }

  /**
   * Events of an answer after the client's `Last-Event-ID`, on any pod: live from the bus
   * while it generates (or shortly after), else replayed from the stored row. Ids carry
   * the text offset, so each of the three gives exactly the rest of the text.
   */
  async events(userId: string, threadId: string, modelId: string, messageId: string, lastEventId: string | undefined, signal: AbortSignal): Promise<AsyncIterable<StreamEvent>> {
    const { running, stored } = await this.readable(userId, threadId, modelId, messageId);
    const position = parseAnswerEventId(lastEventId);
    if (running) return after(this.bus.read(messageId, signal), position);
    // Shortly after the end the bus still has the stream: the same events the live readers got.
    if (await this.bus.exists(messageId)) return after(this.bus.read(messageId, signal), position);
    return (async function* () {
      yield* replayOf(stored, position);
    })();
  }

  /** The events of an answer this request has just started: its ownership was checked when it started. */
  startedEvents(messageId: string, signal: AbortSignal): AsyncIterable<StreamEvent> {
    return this.bus.read(messageId, signal);
  }

  /** 404 unless the message is an answer of this user's thread and this model (running or stored). */
  async assertReadable(userId: string, threadId: string, modelId: string, messageId: string): Promise<void> {
    await this.readable(userId, threadId, modelId, messageId);
  }

  /** The answer as running (on any pod) or stored; the id alone proves nothing, so thread and model must match too. */
  private async readable(userId: string, threadId: string, modelId: string, messageId: string) {
    await this.threads.owned(userId, threadId);
    const running = await this.registry.find(messageId);
    if (running) {
      if (running.threadId !== threadId || running.modelId !== modelId) throw AppException.notFound('Message');
      return { running };
    }
    const stored = await this.repository.find(threadId, modelId, messageId);
    if (!stored || stored.role !== 'assistant') throw AppException.notFound('Message');
    return { stored };
  }

  /** Stops an answer of this user's thread, on whichever pod runs it. */
  async cancel(userId: string, threadId: string, modelId: string, messageId: string): Promise<void> {
    await this.threads.owned(userId, threadId);
    const running = await this.registry.find(messageId);
    if (running && running.threadId === threadId && running.modelId === modelId) {
      await this.running.cancel(messageId);
      return;
    }
    if (await this.repository.find(threadId, modelId, messageId)) {
      throw new AppException(ErrorCode.CONFLICT, 'This answer has already finished', HttpStatus.CONFLICT);
    }
    throw AppException.notFound('Message');
  }
}
