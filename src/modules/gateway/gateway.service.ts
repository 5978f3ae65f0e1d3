import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { performance } from 'node:perf_hooks';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { toOpenAIError } from '../../common/errors/openai-error';
import { SseWriter } from '../../common/http/sse';
import { AppConfig } from '../../config/app.config';
import { MessagesRepository } from '../messages/messages.repository';
import { ModelsService } from '../models/models.service';
import { CreateThreadDto } from '../threads/threads.dto';
import { ThreadsService } from '../threads/threads.service';
import { accessDenial } from '../auth/access-policy';
import { TokenCounter } from '../models/token-counter';
import { FinishReason } from '../models/model-provider';
import { CompletionsService, PreparedCall } from './completions.service';
import { ImageInputs } from './image-inputs';
import { ChatCompletionRequestDto, ConversationDto, GatewayModelListDto } from './gateway.dto';
import { chunkOf, completionId, completionOf, streamFinishReasonOf, toCallParameters, toChatMessages, toolCallDeltas, usageOf, usesLegacyFunctions } from './openai-wire';

const unixSeconds = (date: Date | number = Date.now()) => Math.floor(Number(date) / 1000);

/** A conversation is a thread: its 404 names what the caller asked for. */
function asConversationNotFound(error: unknown): never {
  throw error instanceof AppException && error.code === ErrorCode.NOT_FOUND ? AppException.notFound('Conversation') : error;
}

/** Where a completion's transcript goes (PERSIST_TRANSCRIPTS): a thread of the caller's. */
interface Transcript {
  threadId: string;
}

interface Answer {
  status: 'complete' | 'error' | 'cancelled';
  text: string;
  finishReason?: FinishReason;
  promptTokens?: number;
  completionTokens?: number;
  errorCode?: string;
}

/**
 * OpenAI's Chat Completions and Models APIs over every provider: requests are mapped to
 * the provider-neutral call (openai-wire.ts), answers and stream chunks mapped back.
 */
@Injectable()
export class GatewayService {
  private readonly logger = new Logger('Gateway');
  /** `created` of /v1/models entries: the catalog has no dates, so the time this server started. */
  private readonly startedAt = unixSeconds();

  constructor(
    private readonly config: AppConfig,
    private readonly completions: CompletionsService,
    private readonly models: ModelsService,
    private readonly threads: ThreadsService,
    private readonly messages: MessagesRepository,
    private readonly tokens: TokenCounter,
    private readonly images: ImageInputs,
  ) {}

  /** The models this caller can use now (its own keys, the server's, reachable local models). */
  async listModels(user: AuthUser): Promise<GatewayModelListDto> {
    const models = await this.models.list(user.id);
    return {
      object: 'list',
      data: models.filter((m) => m.available).map((m) => ({ id: m.id, object: 'model' as const, created: this.startedAt, owned_by: m.provider })),
    };
  }

  async complete(user: AuthUser, dto: ChatCompletionRequestDto, conversationId: string | undefined, signal: AbortSignal): Promise<ChatCompletion> {
    const call = await this.prepare(user, dto);
    const transcript = await this.openTranscript(user, conversationId, call);
    try {
      const result = await this.completions.complete(call, signal);
      await this.storeAnswer(transcript, call, { status: 'complete', ...result });
      return completionOf(this.head(dto), result, usageOf(result.promptTokens, result.completionTokens, result), usesLegacyFunctions(dto));
    } catch (error) {
      await this.storeAnswer(transcript, call, this.failedAnswer(error, signal, ''));
      throw error;
    }
  }

  /**
   * Streams `chat.completion.chunk`s. The first chunk is awaited before any byte is sent,
   * so failures before it (bad key, 429, unknown model upstream) are real HTTP errors that
   * SDKs raise as typed errors; later failures end the stream with an error frame.
   */
  async stream(user: AuthUser, dto: ChatCompletionRequestDto, conversationId: string | undefined, res: Response, signal: AbortSignal): Promise<void> {
    const call = await this.prepare(user, dto);
    const transcript = await this.openTranscript(user, conversationId, call);
    const head = this.head(dto);
    const usageField = dto.stream_options?.include_usage ? null : undefined;
    const chunks = this.completions.stream(call, signal)[Symbol.asyncIterator]();
    let text = '';
    /** Tool calls begun, by index: each one's id. */
    const toolCalls = new Map<number, string>();
    const legacy = usesLegacyFunctions(dto);
    let sse: SseWriter | undefined;
    try {
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        if (!sse) {
          sse = new SseWriter(res);
          sse.data(chunkOf(head, { role: 'assistant', content: '' }, null, usageField));
        }
        const chunk = next.value;
        if (chunk.type === 'text') {
          text += chunk.text;
          sse.data(chunkOf(head, { content: chunk.text }, null, usageField));
          continue;
        }
        if (chunk.type === 'tool_call') {
          for (const delta of toolCallDeltas(chunk, toolCalls, legacy)) sse.data(chunkOf(head, delta, null, usageField));
          continue;
        }
        const { inputTokens, outputTokens, cachedInputTokens, reasoningTokens } = chunk.usage;
        // An answer that only called tools is stored with its text, empty.
        await this.storeAnswer(transcript, call, { status: 'complete', text, finishReason: chunk.finishReason, promptTokens: inputTokens, completionTokens: outputTokens });
        sse.data(chunkOf(head, {}, streamFinishReasonOf(chunk.finishReason, legacy), usageField));
        if (usageField === null) {
          sse.data(chunkOf(head, null, null, usageOf(inputTokens, outputTokens, { cachedPromptTokens: cachedInputTokens, reasoningTokens })));
        }
        sse.data('[DONE]');
      }
    } catch (error) {
      await this.storeAnswer(transcript, call, this.failedAnswer(error, signal, text));
      if (!sse) throw error;
      if (error instanceof AppException && !signal.aborted) {
        sse.data(toOpenAIError(error.getStatus(), { code: error.code, message: error.message }));
      }
    } finally {
      await chunks.return?.();
      sse?.end();
    }
  }

  async createConversation(user: AuthUser, dto: CreateThreadDto): Promise<ConversationDto> {
    this.requireTranscripts();
    const created = await this.threads.create(user.id, dto);
    return this.conversation(user, created.id);
  }

  async conversation(user: AuthUser, id: string): Promise<ConversationDto> {
    this.requireTranscripts();
    const thread = await this.threads.get(user.id, id).catch(asConversationNotFound);
    return {
      id: thread.id,
      object: 'conversation',
      title: thread.title,
      created_at: unixSeconds(thread.createdAt),
      updated_at: unixSeconds(thread.updatedAt),
      message_count: thread.messageCount,
    };
  }

  private async prepare(user: AuthUser, dto: ChatCompletionRequestDto): Promise<PreparedCall> {
    const messages = await toChatMessages(dto.messages, (url) => this.images.load(url));
    return this.completions.prepare(user, 'gateway', dto.model, messages, toCallParameters(dto), { orProviderName: true });
  }

  private head(dto: ChatCompletionRequestDto) {
    return { id: completionId(), created: unixSeconds(), model: dto.model };
  }

  private requireTranscripts(): void {
    if (!this.config.PERSIST_TRANSCRIPTS) {
      throw new AppException(ErrorCode.NOT_IMPLEMENTED, 'Conversations are off on this server (PERSIST_TRANSCRIPTS=false)', HttpStatus.NOT_IMPLEMENTED);
    }
  }

  /**
   * Seed 000's final-only transcript: the request's last user message is stored now; the
   * answer once, at the end. Without PERSIST_TRANSCRIPTS nothing is written at all.
   */
  private async openTranscript(user: AuthUser, conversationId: string | undefined, call: PreparedCall): Promise<Transcript | undefined> {
    if (!conversationId || !this.config.PERSIST_TRANSCRIPTS) return undefined;
    // Writing into a conversation is writing a thread: a models-only token may not.
    const denial = accessDenial(user, { roles: [], scopes: ['threads:write'], sessionOnly: false });
    if (denial) throw new AppException(ErrorCode.FORBIDDEN, denial.message, HttpStatus.FORBIDDEN, denial.details);
    const thread = await this.threads.owned(user.id, conversationId).catch(asConversationNotFound);
    const lastUser = call.request.messages.findLast((m) => m.role === 'user');
    if (lastUser) {
      await this.messages.insert({ threadId: thread.id, modelId: call.entry.id, role: 'user', content: lastUser.content, tokens: await this.tokens.count(lastUser.content) });
    }
    return { threadId: thread.id };
  }

  private async storeAnswer(transcript: Transcript | undefined, call: PreparedCall, answer: Answer): Promise<void> {
    if (!transcript) return;
    try {
      await this.messages.insertAnswer(transcript.threadId, call.entry, {
        text: answer.text,
        status: answer.status,
        errorCode: answer.errorCode ?? null,
        finishReason: answer.finishReason ?? null,
        promptTokens: answer.promptTokens ?? null,
        completionTokens: answer.completionTokens ?? (await this.tokens.count(answer.text)),
        temperature: call.request.temperature ?? null,
        latencyMs: performance.now() - call.started,
      });
    } catch (error) {
      this.logger.error({ err: error }, 'Storing the transcript failed');
    }
  }

  private failedAnswer(error: unknown, signal: AbortSignal, text: string): Answer {
    if (signal.aborted) return { status: 'cancelled', text, errorCode: 'CANCELLED' };
    return { status: 'error', text, errorCode: error instanceof AppException ? error.code : ErrorCode.INTERNAL_ERROR };
  }
}
