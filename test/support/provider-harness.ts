import type { CompletionRequest, ModelProvider, StreamChunk, ToolDefinition } from '../../src/modules/models/model-provider';
import type { FakeUpstream } from '../fakes';

/** The tool the provider specs offer the model: one required string parameter. */
export const WEATHER = {
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
} satisfies ToolDefinition;

export interface ProviderHarness<P extends ModelProvider> {
  /** The provider under test; it exists only once the fake has started (its URL is known then). */
  provider: () => P;
  /** A request for the default model and key asking about the weather in Paris, with `extra` laid over it. */
  ask: (extra?: Partial<CompletionRequest>) => CompletionRequest;
  /** Every chunk `provider.stream(request)` yields, in order. */
  collect: (request: CompletionRequest) => Promise<StreamChunk[]>;
  /** A fresh signal nobody aborts. */
  signal: () => AbortSignal;
}

/**
 * A provider spec's setup: starts `fake` for the file, builds the provider against its URL,
 * and forgets the fake's script and recorded requests before each test (registers the jest hooks,
 * so call it at the top of the spec).
 */
export function providerHarness<P extends ModelProvider>(
  fake: FakeUpstream,
  createProvider: (baseUrl: string) => P,
  defaults: { model: string; apiKey: string },
): ProviderHarness<P> {
  let built: P | undefined;
  beforeAll(async () => {
    await fake.start();
    built = createProvider(fake.url);
  });
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  const provider = () => {
    if (!built) throw new Error('the provider is built in beforeAll, once the fake has started');
    return built;
  };
  const signal = () => new AbortController().signal;
  const ask = (extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
    model: defaults.model,
    apiKey: defaults.apiKey,
    messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    ...extra,
  });
  const collect = async (request: CompletionRequest): Promise<StreamChunk[]> => {
    const chunks: StreamChunk[] = [];
    for await (const chunk of provider().stream(request, signal())) chunks.push(chunk);
    return chunks;
  };
  return { provider, ask, collect, signal };
}
