import { Ollama } from 'ollama';
import { KeyVerification } from '../../profile/key-verifier';
import {
  CompletionRequest,
  DiscoveredModel,
  FinishReason,
  LoadProgress,
  LocalModelProvider,
  LocalModelStatus,
  StreamChunk,
} from '../model-provider';

const FINISH: Record<string, FinishReason> = { stop: 'stop', length: 'length' };

function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)}GB` : `${Math.round(bytes / 1e6)}MB`;
}

/** Local models on the official `ollama` client: chat, and pull + load on demand. */
export class OllamaProvider extends LocalModelProvider {
  readonly kind = 'ollama' as const;
  readonly name = 'ollama';
  readonly features = { tools: false, responseFormat: false, images: false };

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

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const client = this.client(signal);
    const stream = await client.chat({
      model: request.model,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
      stream: true,
      options: { temperature: request.temperature, num_predict: request.maxTokens, top_p: request.topP, stop: request.stop },
    });
    for await (const part of stream) {
      if (part.message?.content) yield { type: 'text', text: part.message.content };
      if (part.done) {
        yield {
          type: 'done',
          finishReason: FINISH[part.done_reason] ?? 'other',
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
