import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import type { Response as HttpResponse } from 'express';
import type { Response, ResponseOutputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import type { AuthUser } from '../../../common/decorators/current-user.decorator';
import { AppException } from '../../../common/errors/app.exception';
import { ErrorCode } from '../../../common/errors/error-codes';
import { SseWriter } from '../../../common/http/sse';
import { ImageInputs } from '../image-inputs';
import { CompletionsService, PreparedCall } from '../completions.service';
import { CreateResponseRequestDto } from './responses.dto';
import {
  ContextItem,
  EchoParams,
  ParsedItem,
  ResponseEventStream,
  ResponseHead,
  contextOfOutput,
  isReference,
  newResponseId,
  outcomeOf,
  outputOf,
  parseInput,
  parseTextConfig,
  parseToolChoice,
  parseTools,
  responseIdOfItem,
  responseOf,
  toCallParameters,
  toChatMessages,
  unixSeconds,
  usageOf,
} from './responses-wire';
import { ResponsesRepository, StoredResponseRow } from './responses.repository';

/** A request turned into a ready call, with what its Response echoes and stores. */
interface PreparedResponse {
  call: PreparedCall;
  head: ResponseHead;
  params: EchoParams;
  /** The conversation without instructions: what a stored response keeps as its input. */
  context: ContextItem[];
}

const notFound = (param: string, message: string) =>
  new AppException(ErrorCode.NOT_FOUND, message, HttpStatus.NOT_FOUND, { fields: { [param]: [message] } });

/**
 * OpenAI's Responses API over every provider: input items become the provider-neutral call
 * (responses-wire.ts), run through CompletionsService (moderation, model and key
 * resolution, retries, usage recording as `gateway`), and the answer comes back as a
 * Response object or its stream of events. Responses are stored (store: true, the
 * default) for GET /v1/responses/{id} and previous_response_id, for their owner only.
 */
@Injectable()
export class ResponsesService {
  private readonly logger = new Logger('Responses');

  constructor(
    private readonly completions: CompletionsService,
    private readonly responses: ResponsesRepository,
    private readonly images: ImageInputs,
  ) {}

  async create(user: AuthUser, dto: CreateResponseRequestDto, signal: AbortSignal): Promise<Response> {
    const prepared = await this.prepare(user, dto);
    const result = await this.completions.complete(prepared.call, signal);
    const outcome = outcomeOf(result.finishReason);
    const output = outputOf(prepared.head.id, result.text, result.toolCalls, outcome.status === 'completed' ? 'completed' : 'incomplete');
    const usage = usageOf({
      inputTokens: result.promptTokens,
      outputTokens: result.completionTokens,
      cachedInputTokens: result.cachedPromptTokens,
      reasoningTokens: result.reasoningTokens,
    });
    const response = responseOf(prepared.head, prepared.params, { ...outcome, output, usage, completedAt: unixSeconds() });
    await this.store(user, prepared, response);
    return response;
  }

  /**
   * Streams response events as `event: <type>` / `data: <json>` frames. The first chunk is
   * awaited before any byte is sent, so failures before it are real HTTP errors in OpenAI's
   * format; a later failure ends the stream with `response.failed`.
   */
  async stream(user: AuthUser, dto: CreateResponseRequestDto, res: HttpResponse, signal: AbortSignal): Promise<void> {
    const prepared = await this.prepare(user, dto);
    const events = new ResponseEventStream(prepared.head, prepared.params);
    const chunks = this.completions.stream(prepared.call, signal)[Symbol.asyncIterator]();
    let sse: SseWriter | undefined;
    const send = (list: ResponseStreamEvent[]) => list.forEach((event) => sse?.send(event.type, event));
    try {
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
        if (!sse) {
          sse = new SseWriter(res);
          send(events.start());
        }
        const chunk = next.value;
        if (chunk.type !== 'done') {
          send(events.push(chunk));
          continue;
        }
        const finished = events.finish(chunk.finishReason, chunk.usage);
        // Stored before the client hears it is done: its next request may name it.
        await this.store(user, prepared, finished.response);
        send(finished.events);
      }
    } catch (error) {
      if (!sse) throw error;
      // A client that left is recorded as cancelled by CompletionsService; nobody to tell.
      if (!signal.aborted) {
        const failure = error instanceof AppException ? error : new AppException(ErrorCode.INTERNAL_ERROR, 'The answer could not be generated', HttpStatus.INTERNAL_SERVER_ERROR);
        const failed = events.fail({ code: failure.code, message: failure.message });
        await this.store(user, prepared, failed.response);
        send(failed.events);
      }
    } finally {
      await chunks.return?.();
      sse?.end();
    }
  }

  async retrieve(user: AuthUser, id: string): Promise<Response> {
    const row = await this.responses.findOwned(user.id, id);
    if (!row) throw notFound('id', `No response ${id} is stored for you`);
    return responseOf({ id: row.id, created_at: unixSeconds(row.createdAt), model: row.modelId }, row.params as unknown as EchoParams, {
      status: row.status,
      output: row.output as ResponseOutputItem[],
      usage: row.usage as unknown as Response['usage'],
      error: row.error as unknown as Response['error'],
      incompleteReason: (row.incompleteReason ?? undefined) as NonNullable<Response['incomplete_details']>['reason'],
      completedAt: row.completedAt ? unixSeconds(row.completedAt) : null,
    });
  }

  private async prepare(user: AuthUser, dto: CreateResponseRequestDto): Promise<PreparedResponse> {
    // Everything the request alone can refuse is refused before any lookup.
    const tools = parseTools(dto.tools);
    const params: EchoParams = {
      instructions: dto.instructions ?? null,
      tools,
      tool_choice: parseToolChoice(dto.tool_choice, tools),
      parallel_tool_calls: dto.parallel_tool_calls ?? true,
      temperature: dto.temperature ?? null,
      top_p: dto.top_p ?? null,
      max_output_tokens: dto.max_output_tokens ?? null,
      text: parseTextConfig(dto.text),
      previous_response_id: dto.previous_response_id ?? null,
      store: dto.store ?? true,
      metadata: dto.metadata ?? null,
    };
    const items = parseInput(dto.input);

    const loaded = new Map<string, StoredResponseRow | null>();
    const load = async (id: string) => {
      if (!loaded.has(id)) loaded.set(id, await this.responses.findOwned(user.id, id));
      return loaded.get(id)!;
    };
    const context: ContextItem[] = [];
    if (params.previous_response_id) {
      const previous = await load(params.previous_response_id);
      if (!previous) throw notFound('previous_response_id', `No response ${params.previous_response_id} is stored for you`);
      context.push(...(previous.input as ContextItem[]), ...outputContext(previous.output as ResponseOutputItem[]));
    }
    context.push(...(await this.resolveReferences(items, load)));

    const messages = await toChatMessages(params.instructions, context, (url) => this.images.load(url, 'input'));
    const call = await this.completions.prepare(user, 'gateway', dto.model, messages, toCallParameters(params, dto.parallel_tool_calls != null), { orProviderName: true });
    return { call, head: { id: newResponseId(), created_at: unixSeconds(), model: dto.model }, params, context };
  }

  /** `item_reference`s replaced by the stored output items they name (the caller's own responses only). */
  private async resolveReferences(items: ParsedItem[], load: (id: string) => Promise<StoredResponseRow | null>): Promise<ContextItem[]> {
    const out: ContextItem[] = [];
    for (const [i, item] of items.entries()) {
      if (!isReference(item)) {
        out.push(item);
        continue;
      }
      const responseId = responseIdOfItem(item.id);
      const row = responseId ? await load(responseId) : null;
      const found = (row?.output as ResponseOutputItem[] | undefined)?.find((o) => o.id === item.id);
      const context = found && contextOfOutput(found);
      if (!context) throw notFound(`input.${i}.id`, `No item ${item.id} is stored for you`);
      out.push(context);
    }
    return out;
  }

  private async store(user: AuthUser, prepared: PreparedResponse, response: Response): Promise<void> {
    if (!prepared.params.store) return;
    try {
      await this.responses.insert({
        id: response.id,
        userId: user.id,
        modelId: response.model,
        status: response.status as 'completed' | 'incomplete' | 'failed',
        input: prepared.context,
        output: response.output,
        params: prepared.params as unknown as Record<string, unknown>,
        usage: (response.usage as unknown as Record<string, unknown>) ?? null,
        error: (response.error as unknown as Record<string, unknown>) ?? null,
        incompleteReason: response.incomplete_details?.reason ?? null,
        previousResponseId: prepared.params.previous_response_id,
        createdAt: new Date(response.created_at * 1000),
        completedAt: response.completed_at ? new Date(response.completed_at * 1000) : null,
      });
    } catch (error) {
      // The answer itself is good: it is sent; only a later GET or previous_response_id will miss it.
      this.logger.error({ err: error }, 'Storing the response failed');
    }
  }
}

function outputContext(output: ResponseOutputItem[]): ContextItem[] {
  return output.flatMap((item) => contextOfOutput(item) ?? []);
}
