import { Message } from '../../infra/database/generated/client';
import { endEvents, isAfter, parseAnswerEventId, replayOf, startEvent, textOf, tokenEvent } from './answer-events';

const stored = (content: string, status: Message['status'] = 'complete') =>
  ({ id: 'm1', content, status, tokens: 3, finishReason: 'stop', errorCode: status === 'complete' ? null : 'INTERRUPTED', createdAt: new Date(0) }) as Message;

/** The live events of an answer streamed as these tokens. */
function live(tokens: string[]) {
  let text = '';
  const events = [startEvent('m1', 't', 'u1')];
  for (const token of tokens) events.push(tokenEvent('m1', token, (text += token).length));
  return [...events, ...endEvents('m1', text.length, { status: 'complete', totalTokens: 3, finishReason: 'stop', timestamp: 't' })];
}

const tokensOf = (events: Array<{ event: string; data: unknown }>) =>
  events
    .filter((e) => e.event === 'token')
    .map((e) => (e.data as { token: string }).token)
    .join('');

describe('answer event ids', () => {
  const tokens = ['Hel', 'lo, ', 'wor', 'ld! 👋'];
  const text = tokens.join('');

  it('carry the text offset, then <length>.1 and <length>.2', () => {
    expect(live(tokens).map((e) => e.id)).toEqual(['0', '3', '7', '10', String(text.length), `${text.length}.1`, `${text.length}.2`]);
  });

  it('give exactly the rest of the text from any id received, live or replayed from the stored row', () => {
    const events = live(tokens);
    for (const received of events) {
      const position = parseAnswerEventId(received.id);
      const seen = tokensOf(events.slice(0, events.indexOf(received) + 1));
      const restLive = events.filter((e) => isAfter(e.id, position));
      const restReplayed = replayOf(stored(text), position);
      expect(seen + tokensOf(restLive)).toBe(text);
      expect(seen + tokensOf(restReplayed)).toBe(text);
      expect(restReplayed.map((e) => e.event)).toEqual(restLive.map((e) => e.event).filter((e, i, all) => e !== 'token' || all.indexOf('token') === i));
    }
  });

  it('replay everything without a Last-Event-ID, and ignore ids that are not ours', () => {
    expect(replayOf(stored(text), undefined).map((e) => e.event)).toEqual(['message_start', 'token', 'message_complete', 'close']);
    expect(parseAnswerEventId('abc')).toBeUndefined();
    expect(parseAnswerEventId('12.3')).toBeUndefined();
    expect(parseAnswerEventId('12.1')).toEqual({ offset: 12, phase: 1 });
  });

  it('end an interrupted answer with its code', () => {
    const events = replayOf(stored('partial', 'interrupted'), parseAnswerEventId('3'));
    expect(events.map((e) => [e.event, e.id])).toEqual([['token', '7'], ['error', '7.1'], ['close', '7.2']]);
    expect(events[1].data).toMatchObject({ code: 'INTERRUPTED', messageId: 'm1' });
  });

  it('textOf rebuilds the streamed text and tells whether the end is in', () => {
    expect(textOf(live(tokens))).toEqual({ text, ended: true });
    expect(textOf(live(tokens).slice(0, 3))).toEqual({ text: 'Hello, ', ended: false });
  });
});
