import { randomUUID } from 'node:crypto';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { ChatMessage, FinishReason } from '../models/model-provider';
import type { CallParameters } from './completions.service';
import { ChatCompletionRequestDto, GatewayMessageDto } from './gateway.dto';

/** Our finish reasons in OpenAI's words (an unknown provider reason reads as a normal stop). */
const FINISH_REASONS: Record<FinishReason, ChatCompletion.Choice['finish_reason']> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
  other: 'stop',
};

export const finishReasonOf = (reason: FinishReason) => FINISH_REASONS[reason];

/** OpenAI messages as the provider-neutral ones every strategy takes. */
export function toChatMessages(messages: GatewayMessageDto[]): ChatMessage[] {
  return messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join(''),
  }));
}

/** The mapped sampling parameters of an OpenAI request (see ChatCompletionRequestDto for what is dropped). */
export function toCallParameters(dto: ChatCompletionRequestDto): CallParameters {
  return {
    temperature: dto.temperature ?? undefined,
    topP: dto.top_p ?? undefined,
    maxTokens: dto.max_completion_tokens ?? dto.max_tokens ?? undefined,
    stop: typeof dto.stop === 'string' ? [dto.stop] : (dto.stop ?? undefined),
  };
}

export const completionId = () => `chatcmpl-${randomUUID().replaceAll('-', '')}`;

export function usageOf(promptTokens: number, completionTokens: number): CompletionUsage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

export function completionOf(
  head: { id: string; created: number; model: string },
  text: string,
  finishReason: FinishReason,
  usage: CompletionUsage,
): ChatCompletion {
  return {
    ...head,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, finish_reason: finishReasonOf(finishReason), logprobs: null }],
    usage,
  };
}

/**
 * One streamed chunk. With `include_usage`, every chunk carries `usage: null` and a last
 * one with no choices carries the totals, as OpenAI sends them.
 */
export function chunkOf(
  head: { id: string; created: number; model: string },
  delta: ChatCompletionChunk.Choice.Delta | null,
  finishReason: FinishReason | null,
  usage?: CompletionUsage | null,
): ChatCompletionChunk {
  return {
    ...head,
    object: 'chat.completion.chunk',
    choices: delta ? [{ index: 0, delta, finish_reason: finishReason ? finishReasonOf(finishReason) : null, logprobs: null }] : [],
    ...(usage !== undefined ? { usage } : {}),
  };
}
