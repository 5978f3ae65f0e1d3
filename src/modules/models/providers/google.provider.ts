import { randomBytes } from 'node:crypto';
import {
  Content,
  FinishReason as GeminiFinishReason,
  FunctionCallingConfigMode,
  GenerateContentConfig,
  GenerateContentResponseUsageMetadata,
  GoogleGenAI,
  Part,
} from '@google/genai';
import { ChatMessage, CompletionRequest, DiscoveredModel, FinishReason, ModelProvider, StreamChunk, TokenUsage } from '../model-provider';

const FINISH: Partial<Record<GeminiFinishReason, FinishReason>> = {
  [GeminiFinishReason.STOP]: 'stop',
  [GeminiFinishReason.MAX_TOKENS]: 'length',
  [GeminiFinishReason.SAFETY]: 'content_filter',
  [GeminiFinishReason.PROHIBITED_CONTENT]: 'content_filter',
};

/**
 * Gemini 3 and later refuse a replayed function call without the thought signature the model gave it;
 * ToolCall has no room for one, so the value Google documents for calls it did not sign is sent instead.
 */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';
const SIGNS_CALLS = (model: string) => !/^(models\/)?gemini-[12][.-]/.test(model);

/** Gemini models on the official `@google/genai` SDK. */
export class GoogleProvider extends ModelProvider {
  readonly kind = 'google' as const;
  readonly name = 'google';
  readonly features = { tools: true, responseFormat: true, images: true };

  constructor(private readonly baseUrl: string | undefined) {
    super();
  }

  private client(apiKey: string | undefined): GoogleGenAI {
    return this.cachedClient(apiKey, () => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: this.baseUrl } }));
  }

  async listModels(apiKey: string | undefined, signal?: AbortSignal): Promise<DiscoveredModel[]> {
    const pager = await this.client(apiKey).models.list({ config: { abortSignal: signal } });
    const models: DiscoveredModel[] = [];
    for await (const model of pager) {
      models.push({ name: (model.name ?? '').replace(/^models\//, ''), displayName: model.displayName, contextLength: model.inputTokenLimit });
    }
    return models;
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const systemInstruction = request.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
    const stream = await this.client(request.apiKey).models.generateContentStream({
      model: request.model,
      contents: toContents(request.messages, SIGNS_CALLS(request.model)),
      config: {
        systemInstruction: systemInstruction || undefined,
        temperature: request.temperature,
        maxOutputTokens: request.maxTokens,
        topP: request.topP,
        stopSequences: request.stop,
        ...toolConfig(request),
        abortSignal: signal,
      },
    });
    let finishReason: FinishReason = 'other';
    const usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    let calls = 0;
    for await (const response of stream) {
      const candidate = response.candidates?.[0];
      let text = '';
      for (const part of candidate?.content?.parts ?? []) {
        if (part.functionCall) {
          // Gemini sends each call whole: one delta carries its id, name and all its arguments.
          if (text) yield { type: 'text', text };
          text = '';
          const { id, name, args } = part.functionCall;
          yield { type: 'tool_call', index: calls++, id: id || `call_${randomBytes(12).toString('hex')}`, name: name ?? '', arguments: JSON.stringify(args ?? {}) };
        } else if (part.text && !part.thought) text += part.text;
      }
      if (text) yield { type: 'text', text };
      if (candidate?.finishReason) finishReason = FINISH[candidate.finishReason] ?? 'other';
      if (response.usageMetadata) readUsage(usage, response.usageMetadata);
    }
    // Gemini finishes a turn that called functions with STOP.
    if (calls && (finishReason === 'stop' || finishReason === 'other')) finishReason = 'tool_calls';
    yield { type: 'done', finishReason, usage };
  }
}

/** Thinking tokens are output Gemini counts apart from the candidates; OpenAI's completion tokens include them. */
function readUsage(usage: TokenUsage, meta: GenerateContentResponseUsageMetadata): void {
  usage.inputTokens = meta.promptTokenCount ?? usage.inputTokens;
  if (meta.candidatesTokenCount !== undefined || meta.thoughtsTokenCount !== undefined) {
    usage.outputTokens = (meta.candidatesTokenCount ?? 0) + (meta.thoughtsTokenCount ?? 0);
  }
  if (meta.cachedContentTokenCount) usage.cachedInputTokens = meta.cachedContentTokenCount;
  if (meta.thoughtsTokenCount) usage.reasoningTokens = meta.thoughtsTokenCount;
}

/** Function declarations, the calling mode and the response format, as `GenerateContentConfig` takes them. */
function toolConfig(request: CompletionRequest): Pick<GenerateContentConfig, 'tools' | 'toolConfig' | 'responseMimeType' | 'responseJsonSchema'> {
  const config: Pick<GenerateContentConfig, 'tools' | 'toolConfig' | 'responseMimeType' | 'responseJsonSchema'> = {};
  if (request.tools?.length) {
    config.tools = [
      {
        functionDeclarations: request.tools.map((t) => ({
          name: t.name,
          description: t.description,
          // The raw JSON Schema (`parameters` takes Gemini's own OpenAPI subset).
          parametersJsonSchema: t.parameters ?? { type: 'object', properties: {} },
        })),
      },
    ];
    const choice = request.toolChoice;
    if (choice) {
      config.toolConfig = {
        functionCallingConfig:
          choice === 'auto'
            ? { mode: FunctionCallingConfigMode.AUTO }
            : choice === 'none'
              ? { mode: FunctionCallingConfigMode.NONE }
              : choice === 'required'
                ? { mode: FunctionCallingConfigMode.ANY }
                : { mode: FunctionCallingConfigMode.ANY, allowedFunctionNames: [choice.name] },
      };
    }
  }
  const format = request.responseFormat;
  if (format && format.type !== 'text') {
    config.responseMimeType = 'application/json';
    if (format.type === 'json_schema') config.responseJsonSchema = format.schema;
  }
  return config;
}

/** A tool's result as Gemini's `functionResponse.response` (an object): parsed JSON when it is an object, else `{result}`. */
function toResponse(content: string): Record<string, unknown> {
  let value: unknown = content;
  try {
    value = JSON.parse(content);
  } catch {
    // plain text
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { result: value };
}

function parseArgs(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return text.trim() ? { raw: text } : {};
  }
}

/**
 * Chat messages as Gemini contents: assistant tool calls become `functionCall` parts of a model turn,
 * tool results `functionResponse` parts of a user turn (consecutive results in one turn, matched by name).
 */
function toContents(messages: ChatMessage[], signCalls: boolean): Content[] {
  const contents: Content[] = [];
  const names = new Map<string, string>();
  let resultsTurn: Content | undefined;
  for (const m of messages) {
    if (m.role === 'system') continue;
    if (m.role === 'tool') {
      const part: Part = {
        functionResponse: { name: m.toolName ?? names.get(m.toolCallId ?? '') ?? '', response: toResponse(m.content) },
      };
      if (resultsTurn) resultsTurn.parts!.push(part);
      else contents.push((resultsTurn = { role: 'user', parts: [part] }));
      continue;
    }
    resultsTurn = undefined;
    const parts: Part[] = [];
    if (m.content || (!m.images?.length && !m.toolCalls?.length)) parts.push({ text: m.content });
    for (const image of m.images ?? []) parts.push({ inlineData: { mimeType: image.mediaType, data: image.data } });
    (m.toolCalls ?? []).forEach((call, i) => {
      names.set(call.id, call.name);
      // In parallel calls only the first carries the signature.
      parts.push({ functionCall: { name: call.name, args: parseArgs(call.arguments) }, ...(signCalls && i === 0 ? { thoughtSignature: SKIP_SIGNATURE } : {}) });
    });
    contents.push({ role: m.role === 'assistant' ? 'model' : 'user', parts });
  }
  return contents;
}
