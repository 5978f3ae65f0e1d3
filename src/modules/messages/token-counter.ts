import { Injectable } from '@nestjs/common';
import { getEncoding, Tiktoken } from 'js-tiktoken';

/** Per-message overhead of chat formats (role markers, separators), in tokens. */
const MESSAGE_OVERHEAD = 4;

/**
 * Token counts with OpenAI's o200k_base BPE (js-tiktoken, pure JS). Exact for OpenAI's
 * current models; for Claude, Gemini and local models it is an approximation, close
 * enough to keep context within budget (each reports real usage afterwards).
 */
@Injectable()
export class TokenCounter {
  private encoding?: Tiktoken;

  count(text: string): number {
    this.encoding ??= getEncoding('o200k_base');
    return this.encoding.encode(text).length;
  }

  countMessage(text: string): number {
    return this.count(text) + MESSAGE_OVERHEAD;
  }
}
