import { setTimeout as sleep } from 'node:timers/promises';
import { KeyVerification } from '../../profile/key-verifier';
import { CompletionRequest, DiscoveredModel, ModelProvider, StreamChunk } from '../model-provider';

/** Splits text into word-sized pieces, keeping the spaces, as a tokenizer would stream it. */
function pieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/**
 * An offline model for trying Parley with no key and no network: it streams a fixed,
 * deterministic answer at a human pace. Clearly named as a demo in the catalog.
 */
export class DemoProvider extends ModelProvider {
  readonly kind = 'demo' as const;
  readonly name = 'demo';

  constructor(private readonly tokenDelayMs: number) {
    super();
  }

  async listModels(): Promise<DiscoveredModel[]> {
    return [{ name: 'parley-demo', displayName: 'Parley Demo (offline)' }];
  }

  override async verifyKey(): Promise<KeyVerification> {
    return { verified: false, reason: 'The demo model needs no key' };
  }

  static answerTo(request: CompletionRequest): string {
    const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const turns = request.messages.filter((m) => m.role === 'user').length;
    const quoted = lastUser.length > 120 ? `${lastUser.slice(0, 117)}...` : lastUser;
    return (
      `This is Parley's offline demo model, so no real model is answering. ` +
      `You said: "${quoted}". This is message ${turns} of this conversation. ` +
      `Add an API key in your profile or configure a provider to talk to a real model.`
    );
  }

  async *stream(request: CompletionRequest, signal: AbortSignal): AsyncIterable<StreamChunk> {
    const output = pieces(DemoProvider.answerTo(request)).slice(0, request.maxTokens ?? Infinity);
    const inputTokens = request.messages.reduce((n, m) => n + pieces(m.content).length, 0);
    for (const text of output) {
      signal.throwIfAborted();
      if (this.tokenDelayMs) await sleep(this.tokenDelayMs, undefined, { signal });
      yield { type: 'text', text };
    }
    const truncated = request.maxTokens !== undefined && output.length >= request.maxTokens;
    yield { type: 'done', finishReason: truncated ? 'length' : 'stop', usage: { inputTokens, outputTokens: output.length } };
  }
}
