import { createHash } from 'node:crypto';
import { ServerResponse } from 'node:http';
import { Ctx, FakeUpstream, Route, Script } from './fake-upstream';

export interface OllamaScript extends Script {
  /** Names `/api/pull` can find (default: any); others fail with "file does not exist". */
  pullable?: string[];
  /** Chat/generate on a model that is not installed answer 404, as Ollama does (default: off). */
  requireInstalled?: boolean;
}

/** `llama3.2` -> `llama3.2:latest`, as Ollama names models. */
export const ollamaTag = (name: string) => (name.includes(':') ? name : `${name}:latest`);

const digestOf = (name: string) => `sha256:${createHash('sha256').update(name).digest('hex')}`;
const DETAILS = {
  parent_model: '',
  format: 'gguf',
  family: 'llama',
  families: ['llama'],
  parameter_size: '3.2B',
  quantization_level: 'Q4_K_M',
};
const SIZE = 2_019_393_189;

/**
 * Ollama's native API. `models` (script) is the initial set of installed models; `installed` and
 * `loaded` then follow pull, delete, chat/generate and load/unload requests.
 */
export class FakeOllama extends FakeUpstream<OllamaScript> {
  protected readonly defaultModels = ['llama3.2:latest'];
  version = '0.12.6';
  readonly installed = new Set<string>();
  readonly loaded = new Set<string>();

  constructor(defaults: Partial<OllamaScript> = {}) {
    super(defaults);
    this.resetModels();
  }

  override script(partial: Partial<OllamaScript>): this {
    super.script(partial);
    if (partial.models) this.resetModels();
    return this;
  }

  override reset(): this {
    super.reset();
    this.resetModels();
    return this;
  }

  protected routes(): Route[] {
    return [
      ['GET', /^\/$/, ({ res }) => res.writeHead(200, { 'content-type': 'text/plain' }).end('Ollama is running')],
      ['GET', /^\/api\/version$/, ({ res }) => this.json(res, 200, { version: this.version })],
      ['GET', /^\/api\/tags$/, ({ res }) => this.json(res, 200, { models: [...this.installed].map(tagsEntry) })],
      ['GET', /^\/api\/ps$/, ({ res }) => this.json(res, 200, { models: [...this.loaded].map(psEntry) })],
      ['POST', /^\/api\/(chat|generate)$/, (ctx) => this.generate(ctx)],
      ['POST', /^\/api\/pull$/, (ctx) => this.pull(ctx)],
      ['DELETE', /^\/api\/delete$/, (ctx) => this.delete(ctx)],
    ];
  }

  protected errorBody(_status: number, message: string) {
    return { error: message };
  }

  private resetModels(): void {
    this.installed.clear();
    this.loaded.clear();
    this.models.forEach((m) => this.installed.add(ollamaTag(m)));
  }

  private line(res: ServerResponse, data: unknown): void {
    res.write(JSON.stringify(data) + '\n');
  }

  /** /api/chat, and /api/generate (no prompt: load the model, or unload it with keep_alive 0). */
  private async generate({ res, body, params: [endpoint] }: Ctx): Promise<void> {
    const model: string = body?.model ?? '';
    if (this.cfg.requireInstalled && !this.installed.has(ollamaTag(model))) {
      return this.json(res, 404, { error: `model "${model}" not found, try pulling it first` });
    }
    const head = () => ({ model, created_at: new Date().toISOString() });
    if (endpoint === 'generate' && !body?.prompt && !body?.images?.length) {
      const unload = body?.keep_alive === 0 || body?.keep_alive === '0';
      this.loaded[unload ? 'delete' : 'add'](ollamaTag(model));
      return this.json(res, 200, { ...head(), response: '', done: true, done_reason: unload ? 'unload' : 'load' });
    }
    this.loaded.add(ollamaTag(model));
    const piece = (text: string) =>
      endpoint === 'chat' ? { message: { role: 'assistant', content: text } } : { response: text };
    const { input, output } = this.usage;
    // Ollama sends tool calls whole (arguments as an object, no id), in a chunk of their own, then ends with "stop".
    const calls = endpoint === 'chat' ? (this.cfg.toolCalls ?? []) : [];
    const toolCalls = calls.map((c, index) => ({ function: { index, name: c.name, arguments: JSON.parse(c.arguments) as unknown } }));
    const final = (text: string, withCalls = false) => ({
      ...head(),
      ...(withCalls && toolCalls.length ? { message: { role: 'assistant', content: text, tool_calls: toolCalls } } : piece(text)),
      done: true,
      done_reason: 'stop',
      ...(endpoint === 'generate' ? { context: [1, 2, 3] } : {}),
      total_duration: 1_200_000_000,
      load_duration: 100_000_000,
      prompt_eval_count: input,
      prompt_eval_duration: 100_000_000,
      eval_count: output,
      eval_duration: 1_000_000_000,
    });
    if (body?.stream === false) {
      if (this.cutInsteadOfAnswer(res)) return;
      return this.json(res, 200, final(this.tokens.join(''), true));
    }
    this.beginStream(res, 'application/x-ndjson');
    if (!(await this.eachChunk(res, (text) => this.line(res, { ...head(), ...piece(text), done: false })))) return;
    if (toolCalls.length) this.line(res, { ...head(), message: { role: 'assistant', content: '', tool_calls: toolCalls }, done: false });
    this.line(res, final(''));
    res.end();
  }

  private async pull({ res, body }: Ctx): Promise<void> {
    const name = ollamaTag(body?.model ?? body?.name ?? '');
    const { pullable } = this.cfg;
    const missing = { error: 'pull model manifest: file does not exist' };
    const stream = body?.stream !== false;
    if (pullable && !pullable.map(ollamaTag).includes(name)) {
      if (!stream) return this.json(res, 500, missing);
      this.beginStream(res, 'application/x-ndjson');
      this.line(res, { status: 'pulling manifest' });
      this.line(res, missing);
      return void res.end();
    }
    const digest = digestOf(name);
    const total = SIZE;
    const steps = [
      { status: 'pulling manifest' },
      ...[1, 2, 3, 4].map((i) => ({
        status: `pulling ${digest.slice(7, 19)}`,
        digest,
        total,
        completed: Math.round((total * i) / 4),
      })),
      { status: 'verifying sha256 digest' },
      { status: 'writing manifest' },
      { status: 'success' },
    ];
    if (stream) this.beginStream(res, 'application/x-ndjson');
    const done = await this.eachChunk(
      res,
      (step) => {
        if (step.status === 'success') this.installed.add(name);
        if (stream) this.line(res, step);
      },
      steps,
    );
    if (!done) return;
    if (stream) res.end();
    else this.json(res, 200, { status: 'success' });
  }

  private delete({ res, body }: Ctx): void {
    const name = ollamaTag(body?.model ?? body?.name ?? '');
    if (!this.installed.delete(name)) return this.json(res, 404, { error: `model '${name}' not found` });
    this.loaded.delete(name);
    res.writeHead(200).end();
  }
}

const tagsEntry = (name: string) => ({
  name,
  model: name,
  modified_at: '2025-06-01T12:00:00.000000000Z',
  size: SIZE,
  digest: digestOf(name).slice(7),
  details: DETAILS,
});

const psEntry = (name: string) => ({
  name,
  model: name,
  size: SIZE,
  digest: digestOf(name).slice(7),
  details: DETAILS,
  expires_at: new Date(Date.now() + 5 * 60_000).toISOString(),
  size_vram: SIZE,
});
