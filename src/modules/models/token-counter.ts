import { Injectable, OnModuleInit } from '@nestjs/common';
import { getEncoding, Tiktoken } from 'js-tiktoken';

/** Per-message overhead of chat formats (role markers, separators), in tokens. */
const MESSAGE_OVERHEAD = 4;

/**
 * Token counts with the cl100k_base BPE (js-tiktoken, pure JS): an approximation for every
 * provider (OpenAI's newest models use o200k, Claude, Gemini and local models their own),
 * within a few percent, which is what keeping context inside the window needs; real
 * usage is taken from each answer. cl100k loads in ~0.4 s at start, o200k in ~1.6 s.
 */
@Injectable()
export class TokenCounter implements OnModuleInit {
  private encoding!: Tiktoken;

  /** Built at start: building it on the first message would stall that answer. */
  onModuleInit(): void {
    this.encoding = getEncoding('cl100k_base');
  }

  count(text: string): number {
    return this.encoding.encode(text).length;
  }

  /** The longest prefix of `text` within `maxTokens`. */
  truncate(text: string, maxTokens: number): string {
    const tokens = this.encoding.encode(text);
    return tokens.length <= maxTokens ? text : this.encoding.decode(tokens.slice(0, maxTokens));
  }

  countMessage(text: string): number {
    return this.count(text) + MESSAGE_OVERHEAD;
  }
}
