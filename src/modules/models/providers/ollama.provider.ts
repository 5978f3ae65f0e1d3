import { randomUUID } from 'node:crypto';
import { Ollama } from 'ollama';
import type { Message as OllamaMessage, Tool as OllamaTool } from 'ollama';
import { AppException } from '../../../common/errors/app.exception';
import { KeyVerification } from '../../profile/key-verifier';
import {
  ChatMessage,
  CompletionRequest,
  DiscoveredModel,
  FinishReason,
  LoadProgress,
  LocalModelProvider,
  LocalModelStatus,
  ResponseFormat,
  StreamChunk,
  ToolDefinition,
} from '../model-provider';

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length' };

/** Our messages in Ollama's format: images as base64 strings, tool calls with their arguments as objects. */
export function toOllamaMessage(m: ChatMessage): OllamaMessage {
  const message: OllamaMessage = { role: m.role, content: m.content };
  if (m.images?.length) message.images = m.images.map((image) => image.data);
  if (m.toolCalls?.length) message.tool_calls = m.toolCalls.map((c) => ({ function: { name: c.name, arguments: parseArguments(c.arguments) } }));
  if (m.role === 'tool' && m.toolName) message.tool_name = m.toolName;
  return message;
}

/** Arguments JSON text as the object Ollama wants; text that is not a JSON object stays whole under `input`. */
function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // not JSON: keep it as it came
  }
  return { input: text };
}

export function toOllamaTool(tool: ToolDefinition): OllamaTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      ...(tool.parameters !== undefined ? { parameters: tool.parameters as OllamaTool['function']['parameters'] } : {}),
    },
  };
}

/** `format`: 'json' for any JSON, the schema itself for json_schema. */
function formatOf(format: ResponseFormat | undefined): string | object | undefined {
  if (!format || format.type === 'text') return undefined;
  return format.type === 'json_object' ? 'json' : format.schema;
}

function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)}GB` : `${Math.round(bytes / 1e6)}MB`;
}

/** Local models on the official `ollama` client: chat, and pull + load on demand. */
export class OllamaProvider extends LocalModelProvider {
  readonly kind = 'ollama' as const;
  readonly name = 'ollama';
  readonly features = { tools: true, responseFormat: true, images: true };

  constructor(private readonly host: string) {
    super();
  }

  /**
   * One client per call, its fetch bound to the call's signal: the ollama client takes no
   * AbortSignal, and its own abort() only reaches streams whose response has begun.
   */
  private client(signal?: AbortSignal): Ollama {
    return new Ollama({ host: this.host, fetch: (input, init) => fetch(input, { ...init, signal }) });
  }

  async listModels(_apiKey?: string, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const { models } = await this.client(signal).list();
    return models.map((m) => ({ name: m.name }));
  }

  /** Ollama has no keys. */
  override async verifyKey(): Promise<KeyVerification> {
    return { verified: false, reason: 'Ollama does not use API keys' };
  }

  /**
   * Ollama decides by itself whether to call a tool: `tool_choice` `auto` is what it does,
   * `none` is honoured by not offering the tools, and `required` or a named tool cannot be
   * honoured, so they are refused with a 400 rather than silently ignored.
   */
  private toolsOf(request: CompletionRequest): OllamaTool[] | undefined {
    const choice = request.toolChoice;
    if (!request.tools?.length || choice === 'none') return undefined;
    if (choice !== undefined && choice !== 'auto') {
      const reason = 'Ollama models cannot be made to call a tool: tool_choice must be auto or none';
      throw AppException.validation(reason, { fields: { tool_choice: [reason] } });
    }
    return request.tools.map(toOllamaTool);
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const tools = this.toolsOf(request);
    const client = this.client(signal);
    const stream = await client.chat({
      model: request.model,
      messages: request.messages.map(toOllamaMessage),
      stream: true,
      ...(tools ? { tools } : {}),
      ...(request.responseFormat && request.responseFormat.type !== 'text' ? { format: formatOf(request.responseFormat) } : {}),
      options: { temperature: request.temperature, num_predict: request.maxTokens, top_p: request.topP, stop: request.stop },
    });
    // Ollama sends each call whole, arguments as an object, and usually without an id:
    // call_<n> after an answer-wide random part, so ids stay unique over a conversation.
    const idPrefix = `call_${randomUUID().replaceAll('-', '').slice(0, 12)}_`;
    let calls = 0;
    for await (const part of stream) {
      if (part.message?.content) yield { type: 'text', text: part.message.content };
      for (const call of part.message?.tool_calls ?? []) {
        // parallel_tool_calls false: one call per answer.
        if (request.parallelToolCalls === false && calls > 0) break;
        const id = (call as { id?: unknown }).id;
        yield {
          type: 'tool_call',
          index: calls,
          id: typeof id === 'string' && id ? id : `${idPrefix}${calls}`,
          name: call.function.name,
          arguments: JSON.stringify(call.function.arguments ?? {}),
        };
        calls++;
      }
      if (part.done) {
        yield {
          type: 'done',
          // Ollama ends an answer that called tools with done_reason "stop".
          finishReason: calls ? 'tool_calls' : (FINISH[part.done_reason] ?? 'other'),
          usage: { inputTokens: part.prompt_eval_count ?? 0, outputTokens: part.eval_count ?? 0 },
        };
        return;
      }
    }
  }

  async status(model: string): Promise<LocalModelStatus> {
    const client = this.client();
    const [running, installed] = await Promise.all([client.ps(), client.list()]);
    const loaded = running.models.find((m) => m.name === model || m.model === model);
    if (loaded) return { status: 'loaded', memoryUsage: formatBytes(loaded.size_vram || loaded.size) };
    if (installed.models.some((m) => m.name === model || m.model === model)) return { status: 'not_loaded' };
    return { status: 'not_loaded', memoryUsage: null };
  }

  /** Pulls the model when missing (progress by bytes), then loads it into memory. */
  async *load(model: string, signal: AbortSignal): AsyncIterable<LoadProgress> {
    const client = this.client(signal);
    const installed = await client.list();
    if (!installed.models.some((m) => m.name === model || m.model === model)) {
      const pull = await client.pull({ model, stream: true });
      let progress = 0;
      for await (const part of pull) {
        // Pulling is most of the wait: 0–90 %, loading the last 10 %. Layers report bytes
        // one after another and the closing steps none, so progress only ever moves up.
        if (part.total) progress = Math.max(progress, Math.min(90, Math.round((part.completed / part.total) * 90)));
        yield { status: 'pulling', progress, message: part.status };
      }
    }
    yield { status: 'loading', progress: 90, message: 'loading into memory' };
    await client.generate({ model, prompt: '', stream: false });
    yield { status: 'loaded', progress: 100, message: 'loaded' };
  }
}
