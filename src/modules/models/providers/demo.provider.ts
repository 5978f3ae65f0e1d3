import { setTimeout as sleep } from 'node:timers/promises';
import { KeyVerification } from '../../profile/key-verifier';
import { SUMMARY_INSTRUCTIONS, TITLE_INSTRUCTIONS, TITLE_MAX_WORDS } from '../../summarization/summarization.prompts';
import { CompletionRequest, DiscoveredModel, ModelProvider, StreamChunk } from '../model-provider';

/** Splits text into word-sized pieces, keeping the spaces, as a tokenizer would stream it. */
function pieces(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/** A title from the first words of the message: what a model asked for a title would write. */
function titleOf(message: string): string {
  const words = message.replace(/\s+/g, ' ').trim().split(' ').slice(0, TITLE_MAX_WORDS).join(' ');
  const title = words.replace(/[\s.,;:!?"'`]+$/, '');
  return title.charAt(0).toUpperCase() + title.slice(1);
}

/**
 * A summary from the summarization job's input ("Previous summary: …", then "User: …" and
 * "Assistant: …" paragraphs): the previous summary and what the user wrote, shortened.
 */
function summaryOf(input: string): string {
  const [, previous, messages = input] = /^Previous summary:\n([\s\S]*?)\n\nNew messages:\n([\s\S]*)$/.exec(input) ?? [];
  const said = messages
    .split('\n\n')
    .filter((p) => p.startsWith('User: '))
    .map((p) => `"${clip(p.slice(6).replace(/\s+/g, ' ').trim(), 100)}"`);
  return [
    previous?.trim() && previous.trim() !== '(none)' ? previous.trim() : "Summary by Parley's offline demo model (no real model wrote it).",
    said.length ? `The user then wrote: ${said.join('; ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * An offline model for trying Parley with no key and no network: it streams a fixed,
 * deterministic answer at a human pace. Clearly named as a demo in the catalog. Asked by
 * Parley itself for a thread title or a summary, it answers with one (the first words of
 * the message; the user's messages, shortened) rather than its canned sentence.
 */
export class DemoProvider extends ModelProvider {
  readonly kind = 'demo' as const;
  readonly name = 'demo';
  readonly features = { tools: false, responseFormat: false, images: false };

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
    const system = request.messages.find((m) => m.role === 'system')?.content;
    const input = request.messages.find((m) => m.role === 'user')?.content ?? '';
    if (system === TITLE_INSTRUCTIONS) return titleOf(input);
    if (system === SUMMARY_INSTRUCTIONS) return summaryOf(input);
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
