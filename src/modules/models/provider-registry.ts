import { HttpStatus, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { BackoffOptions, backOff } from 'exponential-backoff';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { Metrics } from '../../infra/metrics/metrics';
import { KeyProvider } from '../profile/profile.dto';
import { isRetryable, translateProviderError } from './model-errors';
import { CompletionRequest, CompletionResult, LocalModelProvider, ModelProvider, StreamChunk } from './model-provider';
import { AnthropicProvider } from './providers/anthropic.provider';
import { DemoProvider } from './providers/demo.provider';
import { GoogleProvider } from './providers/google.provider';
import { OllamaProvider } from './providers/ollama.provider';
import { OpenAICompatibleEndpoint, OpenAIProvider } from './providers/openai.provider';

class ProviderTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor() {
    super('no answer before PROVIDER_TIMEOUT_MS');
  }
}

/** Which provider instance a user key belongs to, and back. */
export const KEY_OF_PROVIDER: Record<string, KeyProvider> = { openai: 'openai', anthropic: 'claude', google: 'google' };

/** The server-key variables of the built-in providers, for the start log. */
const KEY_VARIABLES: Record<string, string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY', google: 'GOOGLE_API_KEY' };
/** How long the start-up probe of Ollama may take (it runs after start, never delaying it). */
const OLLAMA_PROBE_MS = 2_000;

function parseJson<T>(value: string | undefined, fallback: T): T {
  return value ? (JSON.parse(value) as T) : fallback;
}

/**
 * The enabled provider instances, by name, built from configuration; and the one place
 * calls are retried (before the first token only) and their errors translated.
 */
@Injectable()
export class ProviderRegistry implements OnApplicationBootstrap {
  private readonly logger = new Logger('Providers');
  private readonly providers = new Map<string, ModelProvider>();
  private readonly serverKeys = new Map<string, string>();

  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: Metrics,
  ) {
    // The default OpenAI endpoint: seed 000's PROVIDER_* names still work, OPENAI_* win.
    this.add(
      new OpenAIProvider(
        {
          name: 'openai',
          baseUrl: config.OPENAI_BASE_URL ?? config.PROVIDER_BASE_URL,
          headers: parseJson<Record<string, string>>(config.PROVIDER_HEADERS_JSON, {}),
        },
      ),
      config.OPENAI_API_KEY ?? config.PROVIDER_API_KEY,
    );
    for (const endpoint of parseJson<OpenAICompatibleEndpoint[]>(config.OPENAI_COMPATIBLE_ENDPOINTS, [])) {
      this.add(new OpenAIProvider(endpoint), endpoint.apiKey);
    }
    this.add(new AnthropicProvider(config.ANTHROPIC_BASE_URL), config.ANTHROPIC_API_KEY);
    this.add(new GoogleProvider(config.GOOGLE_BASE_URL), config.GOOGLE_API_KEY);
    if (config.OLLAMA_ENABLED) this.add(new OllamaProvider(config.OLLAMA_BASE_URL));
    if (config.demoProviderEnabled) this.add(new DemoProvider(config.DEMO_TOKEN_DELAY_MS));
  }

  /** What the start log says of each provider: usable, needing a key, or disabled. */
  private describe(): string[] {
    const usable: string[] = [];
    const needKey: string[] = [];
    const unchecked: string[] = [];
    for (const p of this.providers.values()) {
      if (p.kind === 'demo') usable.push('demo (offline, no key)');
      else if (p.kind === 'ollama') unchecked.push(`ollama (${this.config.OLLAMA_BASE_URL}: probing)`);
      else if (this.serverKeys.has(p.name)) usable.push(`${p.name} (server key, not verified)`);
      else if (KEY_VARIABLES[p.name]) needKey.push(`${p.name} (${KEY_VARIABLES[p.name]})`);
      // Extra OpenAI-compatible servers may need no key (local servers): not checked here.
      else unchecked.push(`${p.name} (OpenAI-compatible, no key set, not checked)`);
    }
    const disabled = [...(this.config.OLLAMA_ENABLED ? [] : ['ollama (OLLAMA_ENABLED=false)']), ...(this.config.demoProviderEnabled ? [] : [`demo (${this.config.DEMO_PROVIDER_ENABLED === false ? 'DEMO_PROVIDER_ENABLED=false' : 'off in production unless DEMO_PROVIDER_ENABLED=true'})`])];
    return [
      `usable: ${usable.join(', ') || 'none'}`,
      ...(needKey.length ? [`no server key, usable with a user's own key: ${needKey.join(', ')}`] : []),
      ...(unchecked.length ? [`not checked yet: ${unchecked.join(', ')}`] : []),
      ...(disabled.length ? [`disabled: ${disabled.join(', ')}`] : []),
    ];
  }

  /** At start: which providers are usable; then, in the background, one short probe tells whether Ollama answers. */
  onApplicationBootstrap(): void {
    this.logger.log(`Providers: ${this.describe().join('; ')}`);
    const ollama = [...this.providers.values()].find((p) => p.kind === 'ollama');
    if (!ollama) return;
    const url = this.config.OLLAMA_BASE_URL;
    ollama.listModels(undefined, AbortSignal.timeout(OLLAMA_PROBE_MS)).then(
      (models) => this.logger.log(`Ollama at ${url} is reachable: ${models.length} model(s) installed`),
      (error: unknown) =>
        this.logger.log(`Ollama at ${url} is unreachable (${(error as Error)?.message ?? error}): its models are listed as unavailable until it answers`),
    );
  }

  private add(provider: ModelProvider, serverKey?: string): void {
    this.providers.set(provider.name, provider);
    if (serverKey) this.serverKeys.set(provider.name, serverKey);
  }

  get(name: string): ModelProvider | undefined {
    return this.providers.get(name);
  }

  all(): ModelProvider[] {
    return [...this.providers.values()];
  }

  local(name: string): LocalModelProvider | undefined {
    const provider = this.providers.get(name);
    return provider instanceof LocalModelProvider ? provider : undefined;
  }

  serverKey(name: string): string | undefined {
    return this.serverKeys.get(name);
  }

  /** The provider that verifies a user's key of this kind. */
  forKey(key: KeyProvider): ModelProvider | undefined {
    const name = Object.entries(KEY_OF_PROVIDER).find(([, k]) => k === key)?.[0];
    return name ? this.providers.get(name) : undefined;
  }

  /**
   * Streams from `providerName`, retrying with exponential backoff and full jitter on
   * 429/5xx/connection errors until the first chunk arrives; after that a failure is
   * final (a retry would repeat text the client already has). Errors come out translated.
   *
   * Measured as a whole (retries included): time to the first text chunk, duration by
   * outcome, and the usage of the final chunk. The chunks, errors, abort and early exit
   * (`return()` reaches the provider's iterator) are those of the unmeasured stream.
   */
  async *stream(providerName: string, request: CompletionRequest, callerSignal: AbortSignal): AsyncIterable<StreamChunk> {
    if (!this.metrics || !this.providers.has(providerName)) {
      yield* this.attempts(providerName, request, callerSignal);
      return;
    }
    const call = this.metrics.providerCall(providerName);
    let state: 'streaming' | 'done' | 'completed' | 'failed' = 'streaming';
    try {
      for await (const chunk of this.attempts(providerName, request, callerSignal)) {
        if (chunk.type === 'text' || chunk.type === 'tool_call') call.text();
        else {
          state = 'done';
          call.usage(chunk.usage);
        }
        yield chunk;
      }
      state = 'completed';
    } catch (error) {
      state = 'failed';
      throw error;
    } finally {
      // A reader that stops after the final chunk (complete() does) had its answer; one that stops before, cancelled it.
      call.end(state === 'failed' ? (callerSignal.aborted ? 'cancelled' : 'error') : state === 'streaming' ? 'cancelled' : 'ok');
    }
  }

  /** stream() without the measuring. */
  private async *attempts(providerName: string, request: CompletionRequest, callerSignal: AbortSignal): AsyncIterable<StreamChunk> {
    const provider = this.require(providerName);
    // The deadline is for the first chunk only.
    const { signal, failure, clear } = this.deadline(providerName, callerSignal);
    let iterator: AsyncIterator<StreamChunk>;
    let first: IteratorResult<StreamChunk>;
    try {
      ({ iterator, first } = await backOff(
        async () => {
          const it = provider.stream(request, signal)[Symbol.asyncIterator]();
          return { iterator: it, first: await it.next() };
        },
        this.retries(signal),
      ));
    } catch (error) {
      throw failure(error);
    } finally {
      clear();
    }
    if (first.done) return;
    try {
      // Inside the try: a reader that stops after the first chunk still closes the provider's stream.
      yield first.value;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        // Some SDK streams just end when aborted: never report that as a finished answer.
        callerSignal.throwIfAborted();
        yield next.value;
      }
    } catch (error) {
      throw failure(error);
    } finally {
      await iterator.return?.();
    }
  }

  /**
   * Non-streaming: the provider's own non-streaming call where it has one (else its stream,
   * gathered), with the same retries, deadline, error translation and measurements as stream().
   */
  async complete(providerName: string, request: CompletionRequest, callerSignal: AbortSignal): Promise<CompletionResult> {
    const provider = this.require(providerName);
    const call = this.metrics?.providerCall(providerName);
    const { signal, failure, clear } = this.deadline(providerName, callerSignal);
    try {
      const result = await backOff(() => provider.complete(request, signal), this.retries(signal));
      call?.text();
      call?.usage(result.usage);
      call?.end('ok');
      return result;
    } catch (error) {
      call?.end(callerSignal.aborted ? 'cancelled' : 'error');
      throw failure(error);
    } finally {
      clear();
    }
  }

  /**
   * PROVIDER_TIMEOUT_MS for a call, the same for every SDK (ollama's has none of its own):
   * the signal to give the provider, and what a failure becomes (the caller's own abort
   * unchanged, the deadline as PROVIDER_TIMEOUT, anything else translated).
   */
  private deadline(providerName: string, callerSignal: AbortSignal) {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new ProviderTimeoutError()), this.config.PROVIDER_TIMEOUT_MS);
    return {
      signal: AbortSignal.any([callerSignal, deadline.signal]),
      failure: (error: unknown) =>
        callerSignal.aborted ? error : translateProviderError(deadline.signal.aborted ? new ProviderTimeoutError() : error, providerName),
      clear: () => clearTimeout(timer),
    };
  }

  /** Exponential backoff with full jitter on 429/5xx/connection errors, never once `signal` aborted. */
  private retries(signal: AbortSignal): BackoffOptions {
    return {
      numOfAttempts: this.config.PROVIDER_MAX_RETRIES + 1,
      startingDelay: this.config.PROVIDER_RETRY_BASE_MS,
      timeMultiple: 2,
      maxDelay: 10_000,
      jitter: 'full',
      retry: (error: unknown) => !signal.aborted && isRetryable(error),
    };
  }

  private require(name: string): ModelProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new AppException(ErrorCode.MODEL_NOT_FOUND, `Provider ${name} is not enabled`, HttpStatus.NOT_FOUND);
    return provider;
  }
}
