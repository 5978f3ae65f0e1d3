import { createServer, IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/** Statuses a fake can be told to fail with (each provider maps them to its own error body). */
export type FailStatus = 400 | 401 | 403 | 404 | 429 | 500 | 503 | 529;

export interface FailWith {
  status: FailStatus;
  /** Fail only the first `times` matching requests, then behave normally (default: every request). */
  times?: number;
  message?: string;
  /** Seconds, sent as a `retry-after` header. */
  retryAfter?: number;
  /** Fail only requests whose path contains this (default: every route). */
  path?: string;
}

/** What the fake does; set with `script(partial)`, restored by `reset()`. */
export interface Script {
  /** Streamed one per chunk; joined for non-stream replies. */
  tokens: string[];
  /** Pause before each streamed chunk. */
  delayMs: number;
  /** Default { input: 12, output: tokens.length }. */
  usage?: { input: number; output: number };
  /** Answer with this status and the provider's error JSON before any token. */
  failWith?: FailWith;
  /** Stream K chunks, then close the socket with no terminating event (non-stream: close without answering). */
  cutAfter?: number;
  /** Accept the request and never answer. */
  hang?: boolean;
  /** Ids the list-models endpoint returns (each fake has its own default). */
  models?: string[];
  /**
   * Tool calls the model makes after its tokens, in the provider's own format, finishing with
   * its tool-call reason; streamed with their arguments split into a few fragments.
   */
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
}

export interface RecordedRequest {
  method: string;
  /** Path with query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when empty or not JSON. */
  body: any;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  body: any;
  /** Capture groups of the route's pattern. */
  params: string[];
}
export type Handler = (ctx: Ctx) => void | Promise<void>;
export type Route = [method: string, pattern: RegExp, handler: Handler];

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const DEFAULT_MESSAGES: Record<number, string> = {
  400: 'Invalid request',
  401: 'Invalid API key',
  403: 'Permission denied',
  404: 'Not found',
  429: 'Rate limit exceeded',
  500: 'Internal server error',
  503: 'Service unavailable',
  529: 'Overloaded',
};

/**
 * A fake LLM provider on 127.0.0.1 (random port), driven by the real SDKs in tests.
 * Subclasses declare `routes()`, `errorBody()` and `defaultModels`.
 */
export abstract class FakeUpstream<S extends Script = Script> {
  readonly requests: RecordedRequest[] = [];
  /** Responses the client closed before they were finished. */
  aborted = 0;
  protected cfg: S;
  protected abstract readonly defaultModels: string[];
  private server?: Server;
  private failed = 0;
  private readonly cut = new WeakSet<ServerResponse>();
  private abortWaiters: Array<() => void> = [];
  private stopping = false;

  constructor(private readonly defaults: Partial<S> = {}) {
    this.cfg = this.initialScript();
  }

  protected abstract routes(): Route[];
  protected abstract errorBody(status: number, message: string): unknown;

  get url(): string {
    if (!this.server) throw new Error('fake upstream not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get tokens(): string[] {
    return this.cfg.tokens;
  }
  get usage(): { input: number; output: number } {
    return this.cfg.usage ?? { input: 12, output: this.cfg.tokens.length };
  }
  get models(): string[] {
    return this.cfg.models ?? this.defaultModels;
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.stopping = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** Merge into the current behaviour (a new `failWith` restarts its `times` count). */
  script(partial: Partial<S>): this {
    Object.assign(this.cfg, partial);
    if ('failWith' in partial) this.failed = 0;
    return this;
  }

  /** Back to the constructor's defaults; clears recorded requests and the abort counter. */
  reset(): this {
    this.cfg = this.initialScript();
    this.requests.length = 0;
    this.aborted = 0;
    this.failed = 0;
    this.abortWaiters = [];
    return this;
  }

  /** Resolves once `count` responses have been abandoned by the client; rejects after timeoutMs. */
  waitForAbort(timeoutMs = 2000, count = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no client abort within ${timeoutMs} ms (aborted=${this.aborted})`)),
        timeoutMs,
      );
      const check = () => this.aborted >= count && (clearTimeout(timer), resolve());
      this.abortWaiters.push(check);
      check();
    });
  }

  private initialScript(): S {
    return { tokens: ['Hello', ',', ' world', '!'], delayMs: 0, ...this.defaults } as S;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('close', () => {
      if (res.writableFinished || this.cut.has(res) || this.stopping) return;
      this.aborted++;
      this.abortWaiters.forEach((w) => w());
    });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const path = req.url ?? '/';
    this.requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });

    const url = new URL(path, 'http://127.0.0.1');
    let handler: Handler | undefined;
    let params: string[] = [];
    for (const [method, pattern, h] of this.routes()) {
      const m = method === req.method ? pattern.exec(url.pathname) : null;
      if (m) {
        [handler, params] = [h, m.slice(1)];
        break;
      }
    }
    if (!handler) return this.sendError(res, 404, `No route for ${req.method} ${url.pathname}`);
    if (this.cfg.hang) return;
    const fail = this.cfg.failWith;
    if (fail && (!fail.path || path.includes(fail.path)) && (fail.times === undefined || this.failed < fail.times)) {
      this.failed++;
      return this.sendError(res, fail.status, fail.message ?? DEFAULT_MESSAGES[fail.status], fail.retryAfter);
    }
    try {
      await handler({ req, res, url, body, params });
    } catch (err) {
      if (!res.headersSent) this.sendError(res, 500, String(err));
      else res.destroy();
    }
  }

  // ---- helpers for subclasses ----

  protected json(res: ServerResponse, status: number, data: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(data));
  }

  protected sendError(res: ServerResponse, status: number, message: string, retryAfter?: number): void {
    const headers: Record<string, string> = retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {};
    this.json(res, status, this.errorBody(status, message), headers);
  }

  /** Status line and headers of a streamed reply, sent at once. */
  protected beginStream(res: ServerResponse, contentType = 'text/event-stream; charset=utf-8'): void {
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
  }

  protected sse(res: ServerResponse, data: unknown, event?: string): void {
    res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
  }

  /**
   * Calls `emit` once per item (default: the scripted tokens), waiting `delayMs` before each.
   * Honours `cutAfter`: after K items the socket is closed and false is returned, as it is when the
   * client has gone away; true means the caller should write its terminating events.
   */
  protected async eachChunk<T = string>(
    res: ServerResponse,
    emit: (item: T, i: number) => void,
    items: T[] = this.cfg.tokens as T[],
  ): Promise<boolean> {
    const { delayMs, cutAfter } = this.cfg;
    for (let i = 0; i <= items.length; i++) {
      if (cutAfter !== undefined && i === Math.min(cutAfter, items.length)) {
        await this.cutConnection(res);
        return false;
      }
      if (i === items.length) break;
      if (delayMs) await sleep(delayMs);
      if (res.destroyed) return false;
      emit(items[i], i);
    }
    return !res.destroyed;
  }

  /** For a non-stream reply: true (and the connection dropped) when `cutAfter` is set. */
  protected cutInsteadOfAnswer(res: ServerResponse): boolean {
    if (this.cfg.cutAfter === undefined) return false;
    this.cut.add(res);
    res.socket?.destroy();
    return true;
  }

  /** Flush what was written, then close the socket without ending the HTTP response. */
  private async cutConnection(res: ServerResponse): Promise<void> {
    this.cut.add(res);
    await new Promise((r) => setImmediate(r));
    res.socket?.destroySoon();
  }
}
