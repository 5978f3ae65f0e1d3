import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { ParleyClient, Schemas } from './client.js';

/** What each event of an answer stream carries: the spec's `x-sse-events` of these routes. */
export interface AnswerEventData {
  /** `userMessageId` is absent when a finished answer is replayed. */
  message_start: Schemas['MessageStartEventDto'];
  token: Schemas['TokenEventDto'];
  message_complete: Schemas['MessageCompleteEventDto'];
  /** The answer failed or was cancelled (`CANCELLED`); `close` follows. */
  error: Schemas['MessageErrorEventDto'];
  close: Schemas['CloseEventDto'];
}
export type AnswerEventName = keyof AnswerEventData;
const EVENT_NAMES: AnswerEventName[] = ['message_start', 'token', 'message_complete', 'error', 'close'];
export type AnswerEvent = { [K in AnswerEventName]: { event: K; id?: string; data: AnswerEventData[K] } }[AnswerEventName];

export interface AnswerStreamOptions {
  signal?: AbortSignal;
  /** Reconnections in a row without a new event before giving up. Default 3. */
  retries?: number;
  /** Wait before reconnecting, times the attempt number. Default 500 ms. */
  retryDelayMs?: number;
}

/**
 * The server refused the stream (4xx/5xx before it started) or failed it (an `error` frame
 * carrying an error envelope instead of an answer's error); `body` is the error envelope.
 */
export class ParleyStreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const error = (body as Partial<Schemas['ErrorEnvelopeDto']> | undefined)?.error;
    super(error ? `${status} ${error.code}: ${error.message}` : `HTTP ${status}`);
  }
}

type Send = { threadId: string; modelId: string; content: string; temperature?: number };
type Resume = { threadId: string; modelId: string; messageId: string; lastEventId?: string };

/** `POST …/messages {content, stream: true}`: the answer's events, resumed after a dropped connection. */
export function streamMessage(client: ParleyClient, send: Send, options: AnswerStreamOptions = {}): AnswerStream {
  return new AnswerStream(client, send, undefined, options);
}

/** `GET …/messages/:messageId/stream`: re-attach to an answer (another tab, a restarted program). */
export function resumeMessage(client: ParleyClient, resume: Resume, options: AnswerStreamOptions = {}): AnswerStream {
  return new AnswerStream(client, undefined, resume, options);
}

/**
 * Iterate it with `for await`. It ends after `close`. When the connection drops before
 * that, it reconnects with `GET …/stream` and `Last-Event-ID`, so no event is lost or repeated.
 */
export class AnswerStream implements AsyncIterable<AnswerEvent> {
  /** Known from `message_start` on (or from the start when resuming). */
  messageId?: string;
  /** The `id:` of the last event received: what `Last-Event-ID` sends. */
  lastEventId?: string;
  /** How many times the stream was re-attached after a drop. */
  reconnects = 0;
  private readonly threadId: string;
  private readonly modelId: string;

  constructor(
    private readonly client: ParleyClient,
    private readonly send: Send | undefined,
    resume: Resume | undefined,
    private readonly options: AnswerStreamOptions,
  ) {
    const target = (send ?? resume)!;
    this.threadId = target.threadId;
    this.modelId = target.modelId;
    this.messageId = resume?.messageId;
    this.lastEventId = resume?.lastEventId;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<AnswerEvent> {
    const { signal, retries = 3, retryDelayMs = 500 } = this.options;
    let failures = 0;
    for (;;) {
      // POST until the answer has an id (a drop before that throws below), then GET …/stream.
      const body = await this.connect(this.send !== undefined && this.messageId === undefined).catch((error: unknown) => {
        if (error instanceof ParleyStreamError || signal?.aborted || !this.messageId) throw error;
        return undefined; // a network failure on reconnecting: try again below
      });
      if (body) {
        for await (const message of readEvents(body.stream, signal)) {
          if (!EVENT_NAMES.includes(message.event as AnswerEventName)) continue;
          const event = { event: message.event, id: message.id, data: JSON.parse(message.data) } as AnswerEvent;
          // A request that fails after the stream started gets its error envelope as an `error` frame.
          if (event.event === 'error' && (event.data as { success?: unknown }).success === false) throw new ParleyStreamError(body.status, event.data);
          if (message.id) this.lastEventId = message.id;
          if (event.event === 'message_start') this.messageId = event.data.messageId;
          failures = 0;
          yield event;
          if (event.event === 'close') return;
        }
      }
      // The stream ended without `close`: the connection dropped.
      if (!this.messageId) throw new Error('The answer stream dropped before message_start; nothing to resume');
      if (++failures > retries) throw new Error(`The answer stream dropped ${failures} times in a row without progress; giving up`);
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs * failures));
      if (signal?.aborted) throw signal.reason;
      this.reconnects++;
    }
  }

  private async connect(initial: boolean): Promise<{ stream: ReadableStream<Uint8Array>; status: number }> {
    const signal = this.options.signal;
    const { threadId, modelId } = this;
    const { data, error, response } = initial
      ? await this.client.POST('/api/threads/{threadId}/models/{modelId}/messages', {
          params: { path: { threadId, modelId } },
          body: { content: this.send!.content, temperature: this.send!.temperature, stream: true },
          headers: { Accept: 'text/event-stream' },
          parseAs: 'stream',
          signal,
        })
      : await this.client.GET('/api/threads/{threadId}/models/{modelId}/messages/{messageId}/stream', {
          params: { path: { threadId, modelId, messageId: this.messageId! }, header: this.lastEventId ? { 'Last-Event-ID': this.lastEventId } : {} },
          headers: { Accept: 'text/event-stream' },
          parseAs: 'stream',
          signal,
        });
    if (error !== undefined || !data) throw new ParleyStreamError(response.status, error);
    return { stream: data as ReadableStream<Uint8Array>, status: response.status };
  }
}

/** SSE messages from a body until it ends or breaks (a break ends it quietly: the caller resumes). */
async function* readEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<EventSourceMessage> {
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => queue.push(message) });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (signal?.aborted) throw error;
        return;
      }
      if (chunk.done) return;
      parser.feed(decoder.decode(chunk.value, { stream: true }));
      while (queue.length) yield queue.shift()!;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
