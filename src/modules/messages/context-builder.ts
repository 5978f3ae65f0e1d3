import { Injectable } from '@nestjs/common';
import { Message } from '../../infra/database/generated/client';
import { ChatMessage, ImageInput } from '../models/model-provider';
import { CatalogEntry } from '../models/models.dto';
import { SummarizationService } from '../summarization/summarization.service';
import { TokenCounter } from '../models/token-counter';
import { imagesOf } from './messages.repository';

/** Most recent messages looked at when filling the window. */
const HISTORY_SCAN_LIMIT = 500;
/** Reply budget when the catalog sets no maxOutputTokens. */
const DEFAULT_REPLY_BUDGET = 1024;
/**
 * What one image costs in the context, counted into its user message's stored `tokens`.
 * Providers bill images by size (OpenAI ~85-1,100 tokens at its default detail, Anthropic
 * about width*height/750, Gemini 258 per tile); this fixed estimate covers a typical
 * picture without decoding it, so the window is never overfilled by much. (The API
 * documents it in messages.dto.ts.)
 */
export const IMAGE_TOKENS = 800;

/** A stored message as the model gets it: its text, and a user message's images. */
function chatMessageOf(message: Message): ChatMessage {
  const images = message.role === 'user' ? imagesOf(message) : [];
  return images.length ? { role: message.role, content: message.content, images } : { role: message.role, content: message.content };
}

export interface AssembledContext {
  messages: ChatMessage[];
  promptTokens: number;
  maxTokens: number;
}

/**
 * Seed 001's context assembly: the user's system prompt, this model's summary of the
 * thread, then as many of this model's most recent messages as fit the context window
 * minus the reply budget. Other models' messages in the thread are never included.
 * Messages are measured by the token counts stored with them (a user message's count
 * includes IMAGE_TOKENS per image), never re-counted; user messages keep their images.
 */
@Injectable()
export class ContextBuilder {
  constructor(
    private readonly summaries: SummarizationService,
    private readonly tokens: TokenCounter,
  ) {}

  async build(
    threadId: string,
    entry: CatalogEntry,
    systemPrompt: string,
    newMessage: Pick<Message, 'content' | 'tokens'> & { images?: ImageInput[] },
  ): Promise<AssembledContext> {
    const maxTokens = Math.min(entry.maxOutputTokens ?? DEFAULT_REPLY_BUDGET, Math.floor(entry.contextLength / 4));
    let budget = entry.contextLength - maxTokens;
    const head: ChatMessage[] = [];
    const { summary, recent } = await this.summaries.contextOf(threadId, entry.id, HISTORY_SCAN_LIMIT);
    const system = [systemPrompt.trim(), summary ? `Summary of the earlier conversation:\n${summary}` : '']
      .filter(Boolean)
      .join('\n\n');
    if (system) {
      head.push({ role: 'system', content: system });
      budget -= await this.tokens.countMessage(system);
    }
    budget -= await this.tokens.storedMessage(newMessage);

    // The new user message is not stored yet (it is written meanwhile) and goes last.
    // Messages the summary covers are not sent again; without a summary, plain truncation.
    // A user message whose answer is missing or empty (it failed before any text, or is
    // still being finalised) is left out with it, so the model never sees two user turns in a row.
    const kept: ChatMessage[] = [];
    let newerRole: Message['role'] = 'user';
    for (const message of recent) {
      if (message.role === 'assistant' && !message.content) continue;
      if (message.role === 'user' && newerRole === 'user') continue;
      const cost = await this.tokens.storedMessage(message);
      if (cost > budget) break;
      budget -= cost;
      kept.unshift(chatMessageOf(message));
      newerRole = message.role;
    }
    const images = newMessage.images ?? [];
    const messages = [...head, ...kept, { role: 'user' as const, content: newMessage.content, ...(images.length ? { images } : {}) }];
    return { messages, maxTokens, promptTokens: entry.contextLength - maxTokens - budget };
  }
}
