import { randomBytes } from 'node:crypto';
import type {
  EasyInputMessage,
  FunctionTool,
  Response,
  ResponseError,
  ResponseFormatTextConfig,
  ResponseFunctionToolCall,
  ResponseInputItem,
  ResponseInputMessageContentList,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseStatus,
  ResponseStreamEvent,
  ResponseTextConfig,
  ResponseUsage,
  ToolChoiceFunction,
  ToolChoiceOptions,
} from 'openai/resources/responses/responses';
import { AppException } from '../../../common/errors/app.exception';
import { ErrorCode } from '../../../common/errors/error-codes';
import { ChatMessage, FinishReason, ResponseFormat, StreamChunk, TokenUsage, ToolCall, ToolChoice, ToolDefinition } from '../../models/model-provider';
import type { CallParameters } from '../completions.service';
import type { ImageLoader } from '../openai-wire';

/**
 * OpenAI's Responses API in and out of the provider-neutral call: input items and
 * `instructions` become ChatMessages, tools/tool_choice/text.format the call parameters,
 * and answers (whole or streamed) become `Response` objects and `ResponseStreamEvent`s.
 * Pure functions: the service does the I/O.
 */

/** Input items as Parley keeps them (stored, and prepended for previous_response_id). */
export type ContextItem = EasyInputMessage | ResponseFunctionToolCall | ResponseInputItem.FunctionCallOutput;
/** An item a client names by id (`{type: 'item_reference', id}`): an output item of a stored response. */
export type ItemReference = ResponseInputItem.ItemReference;
export type ParsedItem = ContextItem | ItemReference;

export const isReference = (item: ParsedItem): item is ItemReference => item.type === 'item_reference';

export type EchoedToolChoice = ToolChoiceOptions | ToolChoiceFunction;

/** The request settings a Response echoes back (and a stored one keeps for GET). */
export interface EchoParams {
  instructions: string | null;
  tools: FunctionTool[];
  tool_choice: EchoedToolChoice;
  parallel_tool_calls: boolean;
  temperature: number | null;
  top_p: number | null;
  max_output_tokens: number | null;
  text: ResponseTextConfig;
  previous_response_id: string | null;
  store: boolean;
  metadata: Record<string, string> | null;
}

/** What a Response says besides its echoed settings. */
export interface ResponseHead {
  id: string;
  created_at: number;
  model: string;
}

export interface ResponseState {
  status: ResponseStatus;
  output: ResponseOutputItem[];
  usage?: ResponseUsage | null;
  error?: ResponseError | null;
  incompleteReason?: NonNullable<Response['incomplete_details']>['reason'];
  completedAt?: number | null;
}

const ROLES = ['user', 'system', 'developer', 'assistant'] as const;

export const invalid = (param: string, message: string) => AppException.validation('Invalid request parameters', { fields: { [param]: [message] } });

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export const newResponseId = () => `resp_${hex(24)}`;

/**
 * Output item ids carry their response's id and position (`msg_<hex>_0`, `fc_<hex>_1`), so an
 * `item_reference` (which the Vercel AI SDK sends for earlier answers) finds its response.
 */
export function itemId(responseId: string, kind: 'msg' | 'fc', index: number): string {
  return `${kind}_${responseId.slice('resp_'.length)}_${index}`;
}

/** The response id an output item id names, or undefined for ids Parley did not make. */
export function responseIdOfItem(id: string): string | undefined {
  const match = /^(?:msg|fc)_([0-9a-f]{48})_\d+$/.exec(id);
  return match ? `resp_${match[1]}` : undefined;
}

// ---- input -----------------------------------------------------------------------------

function stringAt(item: Record<string, unknown>, key: string, path: string, allowEmpty = true): string {
  const value = item[key];
  if (typeof value !== 'string' || (!allowEmpty && !value)) throw invalid(`${path}.${key}`, `${key} must be a${allowEmpty ? '' : ' non-empty'} string`);
  return value;
}

function contentOf(role: (typeof ROLES)[number], content: unknown, path: string): string | ResponseInputMessageContentList {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(path, 'content must be a string or an array of content parts');
  const parts: ResponseInputMessageContentList = [];
  content.forEach((part: unknown, i) => {
    const at = `${path}.${i}`;
    if (!isObject(part)) throw invalid(at, 'a content part must be an object');
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        parts.push({ type: 'input_text', text: stringAt(part, 'text', at) });
        return;
      case 'refusal':
        parts.push({ type: 'input_text', text: stringAt(part, 'refusal', at) });
        return;
      case 'input_image': {
        if (role !== 'user') throw invalid(at, 'images are supported in user messages only');
        const url = part.image_url;
        // The image itself (type, size, address) is checked when it is loaded.
        if (typeof url !== 'string' || !/^(data:|https?:\/\/)/i.test(url.trim())) {
          throw invalid(`${at}.image_url`, 'image_url must be a data: URL or an http(s) URL of an image (file ids are not supported)');
        }
        parts.push({ type: 'input_image', detail: 'auto', image_url: url });
        return;
      }
      default:
        throw invalid(`${at}.type`, 'content parts must be input_text, output_text or input_image (files and audio are not supported)');
    }
  });
  // Plain text is kept as a string: the common case stays small when stored.
  return parts.every((p) => p.type === 'input_text') ? parts.map((p) => (p as { text: string }).text).join('') : parts;
}

function outputTextOf(output: unknown, path: string): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) {
    return output
      .map((part: unknown, i) => {
        if (isObject(part) && part.type === 'input_text' && typeof part.text === 'string') return part.text;
        throw invalid(`${path}.${i}`, 'a function output part must be {"type":"input_text","text":…} (images and files are not supported)');
      })
      .join('');
  }
  throw invalid(path, 'output must be a string or an array of input_text parts');
}

/**
 * `input` as a list of items: a string is one user message. Messages (any content part
 * type Parley can carry), function calls, their outputs and item references are accepted;
 * anything else is a 400 naming the item.
 */
export function parseInput(input: unknown, path = 'input'): ParsedItem[] {
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  if (!Array.isArray(input)) throw invalid(path, 'input must be a string or an array of input items');
  return input.map((raw: unknown, i): ParsedItem => {
    const at = `${path}.${i}`;
    if (!isObject(raw)) throw invalid(at, 'an input item must be an object');
    const type = raw.type ?? (raw.role !== undefined ? 'message' : raw.id !== undefined ? 'item_reference' : undefined);
    switch (type) {
      case 'message': {
        const role = raw.role as (typeof ROLES)[number];
        if (!ROLES.includes(role)) throw invalid(`${at}.role`, 'role must be user, system, developer or assistant');
        return { type: 'message', role, content: contentOf(role, raw.content, `${at}.content`) };
      }
      case 'function_call':
        return {
          type: 'function_call',
          call_id: stringAt(raw, 'call_id', at, false),
          name: stringAt(raw, 'name', at, false),
          arguments: stringAt(raw, 'arguments', at),
        };
      case 'function_call_output':
        return { type: 'function_call_output', call_id: stringAt(raw, 'call_id', at, false), output: outputTextOf(raw.output, `${at}.output`) };
      case 'item_reference':
        return { type: 'item_reference', id: stringAt(raw, 'id', at, false) };
      default:
        throw invalid(`${at}.type`, 'input items must be messages, function_call, function_call_output or item_reference (other item types are not supported)');
    }
  });
}

/** An output item as it is fed back as input (previous_response_id, item_reference). */
export function contextOfOutput(item: ResponseOutputItem): ContextItem | undefined {
  if (item.type === 'function_call') return { type: 'function_call', call_id: item.call_id, name: item.name, arguments: item.arguments };
  if (item.type === 'message') {
    const text = item.content.map((c) => (c.type === 'output_text' ? c.text : c.refusal)).join('');
    return { type: 'message', role: 'assistant', content: text };
  }
  return undefined;
}

/**
 * The conversation as provider-neutral messages: `instructions` first as a system message,
 * function calls joined to the assistant message before them (one assistant turn), each
 * function output a tool message carrying its call's name (Gemini matches by name).
 */
export async function toChatMessages(instructions: string | null, items: ContextItem[], loadImage: ImageLoader): Promise<ChatMessage[]> {
  const messages: ChatMessage[] = instructions ? [{ role: 'system', content: instructions }] : [];
  const imageLoads: Array<Promise<void>> = [];
  const callNames = new Map<string, string>();
  for (const item of items) {
    if (item.type === 'function_call') {
      callNames.set(item.call_id, item.name);
      const call: ToolCall = { id: item.call_id, name: item.name, arguments: item.arguments };
      // The assistant's text and the calls after it are one assistant turn.
      const last = messages.at(-1);
      if (last?.role === 'assistant') {
        last.toolCalls = [...(last.toolCalls ?? []), call];
      } else {
        messages.push({ role: 'assistant', content: '', toolCalls: [call] });
      }
      continue;
    }
    if (item.type === 'function_call_output') {
      const toolName = callNames.get(item.call_id!);
      if (!toolName) throw invalid('input', `No function_call found for the function_call_output with call_id ${item.call_id}`);
      messages.push({ role: 'tool', content: item.output as string, toolCallId: item.call_id!, toolName });
      continue;
    }
    const role = item.role === 'developer' ? 'system' : item.role;
    if (typeof item.content === 'string') {
      messages.push({ role, content: item.content });
      continue;
    }
    let content = '';
    const urls: string[] = [];
    for (const part of item.content) {
      if (part.type === 'input_text') content += part.text;
      else if (part.type === 'input_image' && part.image_url) urls.push(part.image_url);
    }
    const message: ChatMessage = { role, content };
    if (urls.length) imageLoads.push(Promise.all(urls.map(loadImage)).then((images) => void (message.images = images)));
    messages.push(message);
  }
  await Promise.all(imageLoads);
  return messages;
}

// ---- parameters ------------------------------------------------------------------------

/** `tools`: function tools only (hosted tools such as web_search are OpenAI's own). */
export function parseTools(tools: unknown): FunctionTool[] {
  if (tools === null || tools === undefined) return [];
  if (!Array.isArray(tools)) throw invalid('tools', 'tools must be an array');
  const names = new Set<string>();
  return tools.map((tool: unknown, i): FunctionTool => {
    if (!isObject(tool) || tool.type !== 'function') {
      throw invalid('tools', `tools.${i}: only {"type":"function"} tools are supported (${isObject(tool) ? String(tool.type) : typeof tool} is not)`);
    }
    if (typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) throw invalid('tools', `tools.${i}.name must be 1-64 letters, digits, _ or -`);
    if (names.has(tool.name)) throw invalid('tools', `tools.${i}.name: ${tool.name} is declared twice`);
    names.add(tool.name);
    if (tool.description !== undefined && tool.description !== null && typeof tool.description !== 'string') throw invalid('tools', `tools.${i}.description must be a string`);
    if (tool.parameters !== undefined && tool.parameters !== null && !isObject(tool.parameters)) throw invalid('tools', `tools.${i}.parameters must be a JSON Schema object`);
    if (tool.strict !== undefined && tool.strict !== null && typeof tool.strict !== 'boolean') throw invalid('tools', `tools.${i}.strict must be a boolean`);
    return {
      type: 'function',
      name: tool.name,
      description: (tool.description as string | null | undefined) ?? null,
      parameters: (tool.parameters as Record<string, unknown> | null | undefined) ?? null,
      strict: (tool.strict as boolean | null | undefined) ?? null,
    };
  });
}

export function parseToolChoice(choice: unknown, tools: FunctionTool[]): EchoedToolChoice {
  if (choice === null || choice === undefined) return 'auto';
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function' && typeof choice.name === 'string') {
    if (!tools.some((t) => t.name === choice.name)) throw invalid('tool_choice', `tool_choice names ${choice.name}, which is not in tools`);
    return { type: 'function', name: choice.name };
  }
  throw invalid('tool_choice', 'tool_choice must be "auto", "none", "required" or {"type":"function","name":…}');
}

export function parseTextConfig(text: unknown): ResponseTextConfig {
  if (text === null || text === undefined) return { format: { type: 'text' } };
  if (!isObject(text)) throw invalid('text', 'text must be an object');
  const format = text.format;
  if (format === null || format === undefined) return { format: { type: 'text' } };
  if (!isObject(format)) throw invalid('text.format', 'text.format must be an object');
  switch (format.type) {
    case 'text':
    case 'json_object':
      return { format: { type: format.type } };
    case 'json_schema': {
      if (typeof format.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(format.name)) throw invalid('text.format.name', 'name must be 1-64 letters, digits, _ or -');
      if (!isObject(format.schema)) throw invalid('text.format.schema', 'schema must be a JSON Schema object');
      if (format.strict !== undefined && format.strict !== null && typeof format.strict !== 'boolean') throw invalid('text.format.strict', 'strict must be a boolean');
      if (format.description !== undefined && format.description !== null && typeof format.description !== 'string') throw invalid('text.format.description', 'description must be a string');
      return {
        format: {
          type: 'json_schema',
          name: format.name,
          schema: format.schema,
          ...(typeof format.description === 'string' ? { description: format.description } : {}),
          ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}),
        },
      };
    }
    default:
      throw invalid('text.format.type', 'text.format.type must be text, json_object or json_schema');
  }
}

function responseFormatOf(format: ResponseFormatTextConfig | undefined): ResponseFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    name: format.name,
    schema: format.schema,
    ...(format.description ? { description: format.description } : {}),
    ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}),
  };
}

/** The provider-neutral call parameters of a request's echoed settings. */
export function toCallParameters(params: EchoParams, parallelToolCallsGiven: boolean): CallParameters {
  const tools: ToolDefinition[] = params.tools.map((t) => ({
    name: t.name,
    ...(t.description ? { description: t.description } : {}),
    ...(t.parameters ? { parameters: t.parameters } : {}),
    ...(typeof t.strict === 'boolean' ? { strict: t.strict } : {}),
  }));
  const choice = params.tool_choice;
  const toolChoice: ToolChoice | undefined = !tools.length ? undefined : typeof choice === 'string' ? choice : { name: choice.name };
  return {
    temperature: params.temperature ?? undefined,
    topP: params.top_p ?? undefined,
    maxTokens: params.max_output_tokens ?? undefined,
    ...(tools.length ? { tools, toolChoice } : {}),
    ...(tools.length && parallelToolCallsGiven ? { parallelToolCalls: params.parallel_tool_calls } : {}),
    responseFormat: responseFormatOf(params.text.format),
  };
}

// ---- output ----------------------------------------------------------------------------

export function usageOf(usage: TokenUsage): ResponseUsage {
  return {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, cache_write_tokens: 0 },
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

const outputText = (text: string): ResponseOutputText => ({ type: 'output_text', text, annotations: [] });

/** The `status` and `incomplete_details.reason` a finish reason gives. */
export function outcomeOf(finishReason: FinishReason): Pick<ResponseState, 'status' | 'incompleteReason'> {
  if (finishReason === 'length') return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
  if (finishReason === 'content_filter') return { status: 'incomplete', incompleteReason: 'content_filter' };
  return { status: 'completed' };
}

/** A whole answer's output: its text as one message (unless it only called tools), then its calls. */
export function outputOf(responseId: string, text: string, toolCalls: ToolCall[] | undefined, itemStatus: 'completed' | 'incomplete'): ResponseOutputItem[] {
  const output: ResponseOutputItem[] = [];
  if (text || !toolCalls?.length) {
    output.push({ type: 'message', id: itemId(responseId, 'msg', 0), role: 'assistant', status: itemStatus, content: [outputText(text)] });
  }
  for (const call of toolCalls ?? []) {
    output.push({ type: 'function_call', id: itemId(responseId, 'fc', output.length), call_id: call.id, name: call.name, arguments: call.arguments, status: 'completed' });
  }
  return output;
}

/** A `Response` object: head, echoed settings and the current state of its answer. */
export function responseOf(head: ResponseHead, params: EchoParams, state: ResponseState): Response {
  const texts = state.output.flatMap((item) => (item.type === 'message' ? item.content.flatMap((c) => (c.type === 'output_text' ? [c.text] : [])) : []));
  return {
    id: head.id,
    object: 'response',
    created_at: head.created_at,
    status: state.status,
    completed_at: state.completedAt ?? null,
    error: state.error ?? null,
    incomplete_details: state.incompleteReason ? { reason: state.incompleteReason } : null,
    instructions: params.instructions,
    max_output_tokens: params.max_output_tokens,
    model: head.model,
    output: state.output,
    output_text: texts.join(''),
    parallel_tool_calls: params.parallel_tool_calls,
    previous_response_id: params.previous_response_id,
    temperature: params.temperature,
    text: params.text,
    tool_choice: params.tool_choice,
    tools: params.tools,
    top_p: params.top_p,
    truncation: 'disabled',
    usage: state.usage ?? undefined,
    metadata: params.metadata,
    access_programs: null,
  };
}

/** A failure in a Response's `error`: OpenAI's code for it where it has one. */
export function responseErrorOf(error: { code: string; message: string }): ResponseError {
  return { code: error.code === ErrorCode.PROVIDER_RATE_LIMITED || error.code === ErrorCode.RATE_LIMITED ? 'rate_limit_exceeded' : 'server_error', message: error.message };
}

type OpenItem = { kind: 'message'; outputIndex: number; text: string } | { kind: 'call'; outputIndex: number; callIndex: number };

/**
 * Streamed chunks as Responses stream events, in OpenAI's order: `response.created`,
 * `response.in_progress`; per message item `output_item.added`, `content_part.added`,
 * `output_text.delta`…, `output_text.done`, `content_part.done`, `output_item.done`; per
 * function call `output_item.added`, `function_call_arguments.delta`…, `…arguments.done`,
 * `output_item.done`; then `response.completed` (or `.incomplete`, `.failed`).
 */
export class ResponseEventStream {
  readonly output: ResponseOutputItem[] = [];
  private sequence = 0;
  private open?: OpenItem;
  /** Output index of each tool call, by the chunk's call index. */
  private readonly calls = new Map<number, number>();

  constructor(
    private readonly head: ResponseHead,
    private readonly params: EchoParams,
  ) {}

  start(): ResponseStreamEvent[] {
    const response = this.snapshot({ status: 'in_progress' });
    return [this.event({ type: 'response.created', response }), this.event({ type: 'response.in_progress', response })];
  }

  push(chunk: StreamChunk): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    if (chunk.type === 'text') {
      if (!chunk.text) return events;
      if (this.open?.kind !== 'message') {
        this.close(events, 'completed');
        const outputIndex = this.output.length;
        const item: ResponseOutputMessage = { type: 'message', id: itemId(this.head.id, 'msg', outputIndex), role: 'assistant', status: 'in_progress', content: [] };
        this.output.push(item);
        this.open = { kind: 'message', outputIndex, text: '' };
        events.push(this.event({ type: 'response.output_item.added', output_index: outputIndex, item: structuredClone(item) }));
        events.push(this.event({ type: 'response.content_part.added', item_id: item.id, output_index: outputIndex, content_index: 0, part: outputText('') }));
      }
      const open = this.open as Extract<OpenItem, { kind: 'message' }>;
      open.text += chunk.text;
      events.push(this.event({ type: 'response.output_text.delta', item_id: this.output[open.outputIndex].id!, output_index: open.outputIndex, content_index: 0, delta: chunk.text, logprobs: [] }));
      return events;
    }
    if (chunk.type === 'tool_call') {
      let outputIndex = this.calls.get(chunk.index);
      if (outputIndex === undefined) {
        this.close(events, 'completed');
        outputIndex = this.output.length;
        const item: ResponseFunctionToolCall = {
          type: 'function_call',
          id: itemId(this.head.id, 'fc', outputIndex),
          call_id: chunk.id || `call_${hex(12)}`,
          name: chunk.name ?? '',
          arguments: '',
          status: 'in_progress',
        };
        this.output.push(item);
        this.calls.set(chunk.index, outputIndex);
        this.open = { kind: 'call', outputIndex, callIndex: chunk.index };
        events.push(this.event({ type: 'response.output_item.added', output_index: outputIndex, item: structuredClone(item) }));
      }
      const item = this.output[outputIndex] as ResponseFunctionToolCall;
      if (chunk.name && !item.name) item.name = chunk.name;
      if (chunk.arguments) {
        item.arguments += chunk.arguments;
        events.push(this.event({ type: 'response.function_call_arguments.delta', item_id: item.id!, output_index: outputIndex, delta: chunk.arguments }));
      }
      return events;
    }
    return events;
  }

  /** The final events and the finished Response. */
  finish(finishReason: FinishReason, usage: TokenUsage): { events: ResponseStreamEvent[]; response: Response } {
    const outcome = outcomeOf(finishReason);
    const events: ResponseStreamEvent[] = [];
    this.close(events, outcome.status === 'completed' ? 'completed' : 'incomplete');
    const response = this.snapshot({ ...outcome, usage: usageOf(usage), completedAt: unixSeconds() });
    events.push(this.event(outcome.status === 'completed' ? { type: 'response.completed', response } : { type: 'response.incomplete', response }));
    return { events, response };
  }

  /** A failure after the stream started: `response.failed` with what was answered so far. */
  fail(error: { code: string; message: string }): { events: ResponseStreamEvent[]; response: Response } {
    const open = this.open;
    if (open) {
      const item = this.output[open.outputIndex];
      if (item.type === 'message' && open.kind === 'message') Object.assign(item, { status: 'incomplete', content: [outputText(open.text)] });
      else if (item.type === 'function_call') item.status = 'incomplete';
      this.open = undefined;
    }
    const response = this.snapshot({ status: 'failed', error: responseErrorOf(error) });
    return { events: [this.event({ type: 'response.failed', response })], response };
  }

  private close(events: ResponseStreamEvent[], status: 'completed' | 'incomplete'): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    const item = this.output[open.outputIndex];
    const output_index = open.outputIndex;
    if (open.kind === 'message' && item.type === 'message') {
      const part = outputText(open.text);
      events.push(this.event({ type: 'response.output_text.done', item_id: item.id, output_index, content_index: 0, text: open.text, logprobs: [] }));
      events.push(this.event({ type: 'response.content_part.done', item_id: item.id, output_index, content_index: 0, part }));
      Object.assign(item, { status, content: [part] });
    } else if (item.type === 'function_call') {
      events.push(this.event({ type: 'response.function_call_arguments.done', item_id: item.id!, output_index, arguments: item.arguments }));
      item.status = 'completed';
    }
    events.push(this.event({ type: 'response.output_item.done', output_index, item: structuredClone(item) }));
  }

  private snapshot(state: Omit<ResponseState, 'output'>): Response {
    return responseOf(this.head, this.params, { ...state, output: structuredClone(this.output) });
  }

  private event<E extends ResponseStreamEvent>(event: DistributiveOmit<E, 'sequence_number'>): E {
    return { ...event, sequence_number: this.sequence++ } as E;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export const unixSeconds = (date: Date | number = Date.now()) => Math.floor(Number(date) / 1000);
