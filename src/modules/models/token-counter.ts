import { Injectable } from '@nestjs/common';
import { countTokens, decode, encode, setMergeCacheSize } from 'gpt-tokenizer/encoding/cl100k_base';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** Per-message overhead of chat formats (role markers, separators), in tokens. */
const MESSAGE_OVERHEAD = 4;

/**
 * Longest run of letters, punctuation or whitespace handed to BPE in one piece. BPE merges
 * a piece pair by pair, so its cost grows with the square of the piece's length: a
 * 100,000-character run without spaces took minutes. The tokenizer's pre-split never makes
 * a piece of anything else (digits go in threes), so cutting just these runs into pieces of
 * MAX_PIECE keeps the cost linear, and text whose words are shorter counts exactly.
 */
export const MAX_PIECE = 32;
const LONG_RUN = new RegExp(`\\p{L}{${MAX_PIECE},}|[^\\s\\p{L}\\p{N}]{${MAX_PIECE},}|\\s{${MAX_PIECE},}`, 'gu');

/** Text counted between two yields to the event loop: under 2 ms of work whatever its shape. */
export const SLICE_CHARS = 1024;

// The tokenizer's merge cache (100,000 entries by default) made unique text such as base64
// six times slower once full, and grows the heap; pieces are short, so it saves little.
setMergeCacheSize(0);

/** User text may contain `<|endoftext|>` and the like: counted as the text it is, never refused. */
const AS_PLAIN_TEXT: Parameters<typeof countTokens>[1] = { disallowedSpecial: new Set() };

/**
 * Where a slice may end within `window` without changing the count: at the start of a line
 * (the tokenizer ends a piece at a run of newlines), else before the last run of
 * whitespace (a run, or its last space, goes with what follows). -1 when there is neither.
 */
function cutPoint(window: string): number {
  for (let i = window.lastIndexOf('\n'); i >= 0; i = window.lastIndexOf('\n', i - 1)) {
    if (i + 1 < window.length && /\S/.test(window[i + 1])) return i + 1;
  }
  return window.search(/\s+\S*$/);
}

/** `text` in slices of about SLICE_CHARS that count the same one by one as together. */
function* slices(text: string): Generator<string> {
  for (let from = 0; from < text.length; ) {
    let end = Math.min(from + SLICE_CHARS, text.length);
    if (end < text.length) {
      const cut = cutPoint(text.slice(from + SLICE_CHARS / 2, end));
      if (cut > 0) end = from + SLICE_CHARS / 2 + cut;
      // Never split a surrogate pair: half a character would count as replacement bytes.
      else if (/[\ud800-\udbff]/.test(text[end - 1])) end += 1;
    }
    yield text.slice(from, end);
    from = end;
  }
}

/** A slice in the parts BPE runs on alone: runs longer than MAX_PIECE are cut into MAX_PIECE pieces. */
function* pieces(slice: string): Generator<string> {
  let at = 0;
  for (const run of slice.matchAll(LONG_RUN)) {
    if (run.index > at) yield slice.slice(at, run.index);
    for (let i = 0; i < run[0].length; i += MAX_PIECE) yield run[0].slice(i, i + MAX_PIECE);
    at = run.index + run[0].length;
  }
  if (at < slice.length) yield slice.slice(at);
}

/**
 * Token counts with the cl100k_base BPE (gpt-tokenizer, pure JS): an approximation for every
 * provider (OpenAI's newest models use o200k, Claude, Gemini and local models their own)
 * that keeping context inside the window needs; real usage is taken from each answer.
 *
 * The approximation: exact cl100k on text whose runs of letters, punctuation and
 * whitespace are shorter than MAX_PIECE characters; longer runs are counted piecewise
 * (within 1% on base64 and minified code, exact on prose: see the spec). Cost is linear in the input whatever its shape, and
 * `count` yields to the event loop every SLICE_CHARS, so a 1 MB prompt never holds the
 * process for more than a millisecond or two at a time. Counts are stored with each
 * message, so a message is counted once, not on every later send.
 */
@Injectable()
export class TokenCounter {
  /** Tokens of `text`, of any length, without blocking the event loop. */
  async count(text: string): Promise<number> {
    let tokens = 0;
    for (const slice of slices(text)) {
      if (tokens > 0) await yieldToEventLoop();
      for (const piece of pieces(slice)) tokens += countTokens(piece, AS_PLAIN_TEXT);
    }
    return tokens;
  }

  /** A chat message's tokens: its text and the format's per-message overhead. */
  async countMessage(text: string): Promise<number> {
    return (await this.count(text)) + MESSAGE_OVERHEAD;
  }

  /** A stored message's cost from its stored count; counts only rows stored without one. */
  async storedMessage(message: { content: string; tokens: number | null }): Promise<number> {
    return message.tokens === null ? this.countMessage(message.content) : message.tokens + MESSAGE_OVERHEAD;
  }

  /** The longest prefix of `text` within `maxTokens`; encodes no more of it than that needs. */
  truncate(text: string, maxTokens: number): string {
    const kept: number[] = [];
    for (const slice of slices(text)) {
      for (const piece of pieces(slice)) kept.push(...encode(piece, AS_PLAIN_TEXT));
      if (kept.length > maxTokens) return decode(kept.slice(0, maxTokens));
    }
    return text;
  }
}
