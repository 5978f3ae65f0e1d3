import { Message } from '../../infra/database/generated/client';
import { StreamEvent } from '../../infra/stream-bus/stream-bus';

/**
 * An answer's SSE event ids carry the answer's text offset, so they mean the same thing
 * live, buffered in the bus or replayed from the stored row after the bus let it go:
 * `0` is `message_start`, a token's id is the length of the text once it is appended,
 * `<length>.1` is the terminal event and `<length>.2` is `close`. A client resuming with
 * any id it received gets exactly the rest of the text.
 */
export interface AnswerPosition {
  offset: number;
  phase: 0 | 1 | 2;
}

export const START: AnswerPosition = { offset: 0, phase: 0 };

export function answerEventId({ offset, phase }: AnswerPosition): string {
  return phase ? `${offset}.${phase}` : String(offset);
}

/** The position a `Last-Event-ID` names; undefined when absent or not one of ours (the client then gets everything). */
export function parseAnswerEventId(id: string | undefined): AnswerPosition | undefined {
  const match = /^(\d{1,10})(?:\.([12]))?$/.exec(id ?? '');
  if (!match) return undefined;
  return { offset: Number(match[1]), phase: (match[2] ? Number(match[2]) : 0) as AnswerPosition['phase'] };
}

export function isAfter(id: string, position: AnswerPosition | undefined): boolean {
  if (!position) return true;
  const own = parseAnswerEventId(id);
  if (!own) return true;
  return own.offset > position.offset || (own.offset === position.offset && own.phase > position.phase);
}

/** How an answer ended, for its terminal event. */
export type AnswerEnd =
  | { status: 'complete'; totalTokens: number; finishReason: string | null; timestamp: string }
  | { status: 'failed'; code: string; message?: string };

const END_MESSAGES: Record<string, string> = {
  CANCELLED: 'The answer was cancelled',
  INTERRUPTED: 'The server writing this answer stopped mid-answer; the text so far is kept',
  SERVER_SHUTDOWN: 'The server writing this answer shut down; the text so far is kept',
};

export function startEvent(messageId: string, timestamp: string, userMessageId?: string): StreamEvent {
  return { id: answerEventId(START), event: 'message_start', data: { messageId, ...(userMessageId ? { userMessageId } : {}), timestamp } };
}

/** A piece of text; `offset` is the text's length once the piece is appended. */
export function tokenEvent(messageId: string, token: string, offset: number): StreamEvent {
  return { id: answerEventId({ offset, phase: 0 }), event: 'token', data: { token, messageId } };
}

/** The terminal event and `close`, after `length` characters of text. */
export function endEvents(messageId: string, length: number, end: AnswerEnd): StreamEvent[] {
  const terminal =
    end.status === 'complete'
      ? { event: 'message_complete', data: { messageId, totalTokens: end.totalTokens, finishReason: end.finishReason, timestamp: end.timestamp } }
      : { event: 'error', data: { code: end.code, message: end.message ?? END_MESSAGES[end.code] ?? 'The answer did not complete', messageId } };
  return [
    { id: answerEventId({ offset: length, phase: 1 }), ...terminal },
    { id: answerEventId({ offset: length, phase: 2 }), event: 'close', data: {} },
  ];
}

export function endOf(m: Message): AnswerEnd {
  return m.status === 'complete'
    ? { status: 'complete', totalTokens: m.tokens ?? 0, finishReason: m.finishReason, timestamp: m.createdAt.toISOString() }
    : { status: 'failed', code: m.errorCode ?? 'PROVIDER_ERROR' };
}

/** A stored answer as the events after `after`: the rest of its text in one token, then its end. */
export function replayOf(m: Message, after: AnswerPosition | undefined): StreamEvent[] {
  const from = Math.min(after?.offset ?? 0, m.content.length);
  const events = [
    startEvent(m.id, m.createdAt.toISOString()),
    ...(m.content.length > from ? [tokenEvent(m.id, m.content.slice(from), m.content.length)] : []),
    ...endEvents(m.id, m.content.length, endOf(m)),
  ];
  return events.filter((e) => isAfter(e.id, after));
}

/** The text an answer's events carry so far, and whether they already hold its end. */
export function textOf(events: StreamEvent[]): { text: string; ended: boolean } {
  let text = '';
  let ended = false;
  for (const e of events) {
    if (e.event === 'token') text += (e.data as { token: string }).token;
    else if (e.event === 'message_complete' || e.event === 'error' || e.event === 'close') ended = true;
  }
  return { text, ended };
}
