import { randomUUID } from 'node:crypto';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { ChatMessage, FinishReason, ImageInput, ResponseFormat, ToolCall, ToolCallDelta, ToolChoice, ToolDefinition } from '../models/model-provider';
import type { CallParameters } from './completions.service';
import { ChatCompletionRequestDto, FunctionDefinitionDto, GatewayMessageDto } from './gateway.dto';

/** Our finish reasons in OpenAI's words (an unknown provider reason reads as a normal stop). */
const FINISH_REASONS: Record<FinishReason, ChatCompletion.Choice['finish_reason']> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
  other: 'stop',
};

export const finishReasonOf = (reason: FinishReason) => FINISH_REASONS[reason];

/** A message's text: the string, or its text parts joined (image parts are taken apart). */
function textOf(content: GatewayMessageDto['content']): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** The image URLs of a message's parts, in order. */
function imageUrlsOf(content: GatewayMessageDto['content']): string[] {
  return Array.isArray(content) ? content.flatMap((part) => (part.type === 'image_url' ? [part.image_url.url] : [])) : [];
}

/** Loads an image URL (data: or http(s)) into inline bytes, or refuses it with a 400. */
export type ImageLoader = (url: string) => Promise<ImageInput>;

/**
 * OpenAI messages as the provider-neutral ones every strategy takes. A tool result also
 * carries the name of the function it answers (Gemini matches results by name), found from
 * the assistant call it names; legacy `function_call` / `function` messages become a tool
 * call and its result, with an id made up to pair them.
 */
export async function toChatMessages(messages: GatewayMessageDto[], loadImage: ImageLoader): Promise<ChatMessage[]> {
  const chat = toTextMessages(messages);
  // Messages map one to one: each user message gets its images, all loaded at once.
  await Promise.all(
    messages.map(async (m, i) => {
      const urls = m.role === 'user' ? imageUrlsOf(m.content) : [];
      if (urls.length) chat[i].images = await Promise.all(urls.map(loadImage));
    }),
  );
  return chat;
}

function toTextMessages(messages: GatewayMessageDto[]): ChatMessage[] {
  const callNames = new Map<string, string>();
  /** Legacy function calls not answered yet, by function name. */
  const pendingLegacy = new Map<string, string>();
  return messages.map((m, i): ChatMessage => {
    const content = textOf(m.content);
    switch (m.role) {
      case 'developer':
      case 'system':
        return { role: 'system', content };
      case 'user':
        return { role: 'user', content };
      case 'assistant': {
        const toolCalls: ToolCall[] = (m.tool_calls ?? []).map((c) => ({ id: c.id, name: c.function.name, arguments: c.function.arguments }));
        if (!toolCalls.length && m.function_call) {
          const id = `call_legacy_${i}`;
          pendingLegacy.set(m.function_call.name, id);
          toolCalls.push({ id, name: m.function_call.name, arguments: m.function_call.arguments });
        }
        toolCalls.forEach((c) => callNames.set(c.id, c.name));
        return toolCalls.length ? { role: 'assistant', content, toolCalls } : { role: 'assistant', content };
      }
      case 'tool': {
        const toolCallId = m.tool_call_id ?? '';
        const toolName = callNames.get(toolCallId);
        return { role: 'tool', content, toolCallId, ...(toolName ? { toolName } : {}) };
      }
      case 'function': {
        const toolName = m.name ?? '';
        const toolCallId = pendingLegacy.get(toolName) ?? `call_legacy_${i}`;
        pendingLegacy.delete(toolName);
        return { role: 'tool', content, toolCallId, toolName };
      }
    }
  });
}

function toolOf(f: FunctionDefinitionDto): ToolDefinition {
  return {
    name: f.name,
    ...(f.description ? { description: f.description } : {}),
    ...(f.parameters ? { parameters: f.parameters } : {}),
    ...(typeof f.strict === 'boolean' ? { strict: f.strict } : {}),
  };
}

function toolChoiceOf(dto: ChatCompletionRequestDto): ToolChoice | undefined {
  const choice = dto.tool_choice ?? dto.function_call ?? undefined;
  if (choice === undefined) return undefined;
  if (typeof choice === 'string') return choice;
  return { name: 'function' in choice ? choice.function.name : choice.name };
}

function responseFormatOf(format: ChatCompletionRequestDto['response_format']): ResponseFormat | undefined {
  if (!format) return undefined;
  if (format.type !== 'json_schema') return { type: format.type };
  const { name, schema, description, strict } = format.json_schema!;
  // OpenAI's schema is optional: without one, any JSON object will do.
  if (!schema) return { type: 'json_object' };
  return {
    type: 'json_schema',
    name,
    schema,
    ...(description ? { description } : {}),
    ...(typeof strict === 'boolean' ? { strict } : {}),
  };
}

/** The mapped parameters of an OpenAI request (see ChatCompletionRequestDto for what is dropped). */
export function toCallParameters(dto: ChatCompletionRequestDto): CallParameters {
  const tools = dto.tools?.length ? dto.tools.map((t) => toolOf(t.function)) : dto.functions?.length ? dto.functions.map(toolOf) : undefined;
  return {
    temperature: dto.temperature ?? undefined,
    topP: dto.top_p ?? undefined,
    maxTokens: dto.max_completion_tokens ?? dto.max_tokens ?? undefined,
    stop: typeof dto.stop === 'string' ? [dto.stop] : (dto.stop ?? undefined),
    tools,
    toolChoice: toolChoiceOf(dto),
    // Legacy functions: one call per answer, as they had.
    parallelToolCalls: dto.parallel_tool_calls ?? (usesLegacyFunctions(dto) ? false : undefined),
    responseFormat: responseFormatOf(dto.response_format),
  };
}

export const completionId = () => `chatcmpl-${randomUUID().replaceAll('-', '')}`;

/** Usage in OpenAI's form, with the cached and reasoning token details when the provider reported them. */
export function usageOf(promptTokens: number, completionTokens: number, details: { cachedPromptTokens?: number; reasoningTokens?: number } = {}): CompletionUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    ...(details.cachedPromptTokens !== undefined ? { prompt_tokens_details: { cached_tokens: details.cachedPromptTokens } } : {}),
    ...(details.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: details.reasoningTokens } } : {}),
  };
}

/** A call id for a provider that gave none (OpenAI's clients need one to answer the call). */
export const toolCallId = () => `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

/**
 * The answer in OpenAI's form: `content` null when the model only called tools. `legacy`
 * (the request used `functions`): the call as `function_call`, finishing with `function_call`.
 */
export function completionOf(
  head: { id: string; created: number; model: string },
  answer: { text: string; finishReason: FinishReason; toolCalls?: ToolCall[] },
  usage: CompletionUsage,
  legacy = false,
): ChatCompletion {
  const calls = answer.toolCalls ?? [];
  let message: ChatCompletion.Choice['message'] = { role: 'assistant', content: answer.text, refusal: null };
  if (calls.length && legacy) {
    message = { role: 'assistant', content: answer.text || null, refusal: null, function_call: { name: calls[0].name, arguments: calls[0].arguments } };
  } else if (calls.length) {
    message = {
      role: 'assistant',
      content: answer.text || null,
      refusal: null,
      tool_calls: calls.map((c) => ({ id: c.id || toolCallId(), type: 'function', function: { name: c.name, arguments: c.arguments } })),
    };
  }
  const finishReason = legacy && answer.finishReason === 'tool_calls' ? 'function_call' : finishReasonOf(answer.finishReason);
  return { ...head, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finishReason, logprobs: null }], usage };
}

/**
 * Tool-call deltas as OpenAI streams them: a call's first delta carries index, id, type and
 * name with empty arguments, later ones `{index, function: {arguments}}`. A provider delta
 * that starts a call and already has arguments (Ollama sends whole calls) becomes both.
 * `started` holds, per index, the id given to calls already started. `legacy` (the request
 * used `functions`): the first call only, as `function_call` deltas.
 */
export function toolCallDeltas(delta: ToolCallDelta, started: Map<number, string>, legacy = false): ChatCompletionChunk.Choice.Delta[] {
  const out: ChatCompletionChunk.Choice.Delta[] = [];
  if (legacy && delta.index !== 0) return out;
  if (!started.has(delta.index)) {
    const id = delta.id || toolCallId();
    started.set(delta.index, id);
    const name = delta.name ?? '';
    out.push(legacy ? { function_call: { name, arguments: '' } } : { tool_calls: [{ index: delta.index, id, type: 'function', function: { name, arguments: '' } }] });
  }
  if (delta.arguments) {
    const args = delta.arguments;
    out.push(legacy ? { function_call: { arguments: args } } : { tool_calls: [{ index: delta.index, function: { arguments: args } }] });
  }
  return out;
}

/** One chunk's finish reason in OpenAI's words (`function_call` for a request that used legacy functions). */
export function streamFinishReasonOf(reason: FinishReason, legacy: boolean): ChatCompletionChunk.Choice['finish_reason'] {
  return legacy && reason === 'tool_calls' ? 'function_call' : finishReasonOf(reason);
}

/** The request declared legacy `functions` (not `tools`): answers use `function_call`. */
export const usesLegacyFunctions = (dto: ChatCompletionRequestDto) => !dto.tools?.length && !!dto.functions?.length;

/**
 * One streamed chunk. With `include_usage`, every chunk carries `usage: null` and a last
 * one with no choices carries the totals, as OpenAI sends them.
 */
export function chunkOf(
  head: { id: string; created: number; model: string },
  delta: ChatCompletionChunk.Choice.Delta | null,
  finishReason: FinishReason | ChatCompletionChunk.Choice['finish_reason'],
  usage?: CompletionUsage | null,
): ChatCompletionChunk {
  const reason = finishReason === null ? null : finishReason in FINISH_REASONS ? finishReasonOf(finishReason as FinishReason) : (finishReason as ChatCompletionChunk.Choice['finish_reason']);
  return {
    ...head,
    object: 'chat.completion.chunk',
    choices: delta ? [{ index: 0, delta, finish_reason: reason, logprobs: null }] : [],
    ...(usage !== undefined ? { usage } : {}),
  };
}
