import Anthropic from '@anthropic-ai/sdk';
import type {
  Base64ImageSource,
  ContentBlockParam,
  MessageCreateParamsStreaming,
  MessageParam,
  Tool,
  ToolChoice as AnthropicToolChoice,
} from '@anthropic-ai/sdk/resources/messages';
import { ChatMessage, CompletionRequest, DiscoveredModel, FinishReason, ModelProvider, StreamChunk, TokenUsage } from '../model-provider';

const FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  refusal: 'content_filter',
  tool_use: 'tool_calls',
};
/** Anthropic requires max_tokens; used when the caller sets none. */
const DEFAULT_MAX_TOKENS = 4096;
/**
 * The tool a `json_object`/`json_schema` answer is forced through: its input, streamed out as text,
 * is the answer. Works on every Claude model (native `output_config.format` needs recent ones).
 */
export const JSON_ANSWER_TOOL = 'json_answer';

type Request = Omit<MessageCreateParamsStreaming, 'stream'>;

/** Claude models on the official `@anthropic-ai/sdk`. */
export class AnthropicProvider extends ModelProvider {
  readonly kind = 'anthropic' as const;
  readonly name = 'anthropic';
  readonly features = { tools: true, responseFormat: true, images: true };

  constructor(private readonly baseUrl: string | undefined) {
    super();
  }

  private client(apiKey: string | undefined): Anthropic {
    return this.cachedClient(apiKey, () => new Anthropic({ apiKey: apiKey ?? null, baseURL: this.baseUrl, maxRetries: 0 }));
  }

  async listModels(apiKey: string | undefined, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const models: DiscoveredModel[] = [];
    for await (const model of this.client(apiKey).models.list({}, { signal })) models.push({ name: model.id, displayName: model.display_name });
    return models;
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    // Anthropic takes the system prompt beside the conversation, not in it.
    const system = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const stream = await this.client(request.apiKey).messages.create(
      {
        model: request.model,
        system: system || undefined,
        messages: toMessages(request.messages),
        // The Messages API of this SDK generation no longer takes `temperature` or `top_p`: dropped.
        max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
        stop_sequences: request.stop,
        ...toolParams(request),
        stream: true,
      },
      { signal },
    );
    let finishReason: FinishReason = 'other';
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    /** Content block index -> the tool call's index in the answer, or 'json' for the forced answer tool. */
    const blocks = new Map<number, { kind: 'json' } | { kind: 'call'; index: number; args: boolean }>();
    let calls = 0;
    for await (const event of stream) {
      if (event.type === 'message_start') addUsage(usage, event.message.usage);
      else if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
        const block = event.content_block;
        if (request.responseFormat && request.responseFormat.type !== 'text' && block.name === JSON_ANSWER_TOOL) {
          blocks.set(event.index, { kind: 'json' });
        } else {
          blocks.set(event.index, { kind: 'call', index: calls, args: false });
          yield { type: 'tool_call', index: calls++, id: block.id, name: block.name, arguments: '' };
        }
      } else if (event.type === 'content_block_delta') {
        if (event.delta.type === 'text_delta') yield { type: 'text', text: event.delta.text };
        else if (event.delta.type === 'input_json_delta' && event.delta.partial_json) {
          const block = blocks.get(event.index);
          if (block?.kind === 'json') yield { type: 'text', text: event.delta.partial_json };
          else if (block) {
            block.args = true;
            yield { type: 'tool_call', index: block.index, arguments: event.delta.partial_json };
          }
        }
      } else if (event.type === 'content_block_stop') {
        // A call without parameters streams no input: its arguments are an empty object, as OpenAI writes them.
        const block = blocks.get(event.index);
        if (block?.kind === 'call' && !block.args) yield { type: 'tool_call', index: block.index, arguments: '{}' };
      } else if (event.type === 'message_delta') {
        if (event.delta.stop_reason) finishReason = FINISH[event.delta.stop_reason] ?? 'other';
        addUsage(usage, event.usage);
      }
    }
    // Only the forced answer tool was called: to the client that is a plain (JSON) answer.
    if (finishReason === 'tool_calls' && calls === 0) finishReason = 'stop';
    yield { type: 'done', finishReason, usage };
  }
}

/**
 * Anthropic counts cache reads and writes apart from `input_tokens`; OpenAI's prompt tokens include them,
 * so they are added in. Values absent (or null, as in a `message_delta` that repeats none) keep what was known.
 */
function addUsage(
  usage: TokenUsage,
  u: {
    input_tokens?: number | null;
    output_tokens?: number | null;
    cache_read_input_tokens?: number | null;
    cache_creation_input_tokens?: number | null;
    output_tokens_details?: { thinking_tokens?: number } | null;
  },
): void {
  if (u.input_tokens != null) usage.inputTokens = u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
  if (u.cache_read_input_tokens) usage.cachedInputTokens = u.cache_read_input_tokens;
  if (u.output_tokens != null) usage.outputTokens = u.output_tokens;
  if (u.output_tokens_details?.thinking_tokens) usage.reasoningTokens = u.output_tokens_details.thinking_tokens;
}

/** Tools, tool choice and the response format, as the Messages API takes them. */
function toolParams(request: CompletionRequest): Pick<Request, 'tools' | 'tool_choice'> {
  const tools: Tool[] = (request.tools ?? []).map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: { type: 'object', properties: {}, ...t.parameters } as Tool.InputSchema,
  }));
  const parallel = request.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  const choice = request.toolChoice;
  const format = request.responseFormat;
  if (format && format.type !== 'text') {
    const named = format.type === 'json_schema';
    tools.push({
      name: JSON_ANSWER_TOOL,
      description:
        `Give your final answer by calling this tool: its input is the answer${named ? ` (${format.name})` : ''}, as JSON.` +
        (named && format.description ? ` ${format.description}` : ''),
      input_schema: (named ? { type: 'object', ...format.schema } : { type: 'object', additionalProperties: true }) as Tool.InputSchema,
    });
    // With the caller's own tools the model may call them or answer through ours; without, it must answer.
    const forced: AnthropicToolChoice =
      tools.length === 1 || choice === 'none'
        ? { type: 'tool', name: JSON_ANSWER_TOOL, disable_parallel_tool_use: true }
        : typeof choice === 'object'
          ? { type: 'tool', name: choice.name, ...parallel }
          : { type: 'any', ...parallel };
    return { tools, tool_choice: forced };
  }
  if (!tools.length) return {};
  const toolChoice: AnthropicToolChoice =
    choice === 'none'
      ? { type: 'none' }
      : choice === 'required'
        ? { type: 'any', ...parallel }
        : typeof choice === 'object'
          ? { type: 'tool', name: choice.name, ...parallel }
          : { type: 'auto', ...parallel };
  return { tools, tool_choice: toolChoice };
}

/** The arguments JSON as an object; Anthropic takes `input` parsed (unparseable text is kept under `raw`). */
function parseArguments(text: string): unknown {
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { raw: text };
  }
}

/**
 * Chat messages as Anthropic turns: assistant tool calls become `tool_use` blocks, tool results
 * `tool_result` blocks of a user turn; consecutive turns of one role are merged, as the API needs them
 * to alternate (a user's text after tool results joins their turn, after them).
 */
function toMessages(messages: ChatMessage[]): MessageParam[] {
  const turns: Array<{ role: 'user' | 'assistant'; content: ContentBlockParam[] }> = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const content: ContentBlockParam[] = [];
    if (m.role === 'tool') content.push({ type: 'tool_result', tool_use_id: m.toolCallId ?? '', content: m.content });
    else {
      if (m.content || (!m.images?.length && !m.toolCalls?.length)) content.push({ type: 'text', text: m.content });
      for (const image of m.images ?? []) {
        content.push({
          type: 'image',
          source: { type: 'base64', media_type: image.mediaType as Base64ImageSource['media_type'], data: image.data },
        });
      }
      for (const call of m.toolCalls ?? []) content.push({ type: 'tool_use', id: call.id, name: call.name, input: parseArguments(call.arguments) });
    }
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...content);
    else turns.push({ role, content });
  }
  // A plain text turn goes as a string, as it always has.
  return turns.map(({ role, content }) =>
    content.length === 1 && content[0].type === 'text' ? { role, content: content[0].text } : { role, content },
  ) as MessageParam[];
}
