import { HttpStatus, Injectable, Optional } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { CacheFactory, SharedCache } from '../../infra/cache/cache';
import { LruCacheFactory } from '../../infra/cache/lru-cache';
import { ProviderKeysService } from '../profile/provider-keys.service';
import { DiscoveredModel, LocalModelProvider } from './model-provider';
import { loadCatalog } from './model-catalog';
import { CatalogEntry, CatalogModelDto } from './models.dto';
import { KEY_OF_PROVIDER, ProviderRegistry } from './provider-registry';

const DISCOVERY_TTL_MS = 30_000;
/** What an unlisted model is assumed to hold: the caller knows the model, the provider enforces its real limit. */
const UNLISTED_CONTEXT_LENGTH = 128_000;
const DISCOVERY_TIMEOUT_MS = 2_000;

/** A catalog model resolved for one call: its provider and the key to use. */
export interface ResolvedModel {
  entry: CatalogEntry;
  providerName: string;
  apiKey?: string;
}

export interface ModelLookup {
  orProviderName?: boolean;
}

/** What discovery found on one provider (plain data: it may be kept in Redis). */
interface Discovery {
  models: DiscoveredModel[];
  reachable: boolean;
}

/** The catalog (shipped + MODELS_FILE + discovered) and per-user availability. */
@Injectable()
export class ModelsService {
  private readonly catalog: CatalogEntry[];
  /** Discovery results per provider: Ollama's installed models, OpenAI-compatible servers' lists (shared by the pods with REDIS_URL). */
  private readonly discovery: SharedCache<Discovery>;

  private readonly allowUnlisted: boolean;

  constructor(
    config: AppConfig,
    private readonly registry: ProviderRegistry,
    private readonly keys: ProviderKeysService,
    @Optional() caches: CacheFactory = new LruCacheFactory(),
  ) {
    this.catalog = loadCatalog(config.MODELS_FILE).filter((m) => registry.get(m.provider));
    this.allowUnlisted = config.allowUnlistedModels;
    this.discovery = caches.create<Discovery>('models:discovery', { maxEntries: 100 });
  }

  /** Every model this server offers, each marked available or not for this user. */
  async list(userId: string): Promise<CatalogModelDto[]> {
    const [userKeys, discovered] = await Promise.all([this.keys.configured(userId), this.discoveredEntries()]);
    const reachable = await this.reachableLocalProviders();
    return [...this.catalog, ...discovered].map((entry) => ({
      ...entry,
      available: this.hasKey(entry, userKeys) && (!entry.requiresLoading || reachable.has(entry.provider)),
    }));
  }

  /** A catalog model by id; with `orProviderName`, also by the provider's own name (for OpenAI clients). */
  async find(modelId: string, options: ModelLookup = {}): Promise<CatalogEntry> {
    let entry = this.catalog.find((m) => m.id === modelId) ?? this.routed(modelId);
    if (!entry) {
      // Ids first everywhere, then provider names: a catalog id never loses to a discovered name.
      const all = [...this.catalog, ...(await this.discoveredEntries())];
      entry = all.find((m) => m.id === modelId) ?? (options.orProviderName ? all.find((m) => m.model === modelId) : undefined);
    }
    if (!entry) throw new AppException(ErrorCode.MODEL_NOT_FOUND, `Model ${modelId} is not in the catalog`, HttpStatus.NOT_FOUND);
    return entry;
  }

  /**
   * `provider/model`, as peer gateways route: the catalog's entry for that model when it has
   * one (priced), else, when ALLOW_UNLISTED_MODELS allows, an unpriced entry for any model
   * of a configured provider. Catalog ids never contain a slash, so nothing is shadowed.
   */
  private routed(modelId: string): CatalogEntry | undefined {
    const slash = modelId.indexOf('/');
    if (slash <= 0 || slash === modelId.length - 1) return undefined;
    const providerName = modelId.slice(0, slash);
    const model = modelId.slice(slash + 1);
    const provider = this.registry.get(providerName);
    if (!provider) return undefined;
    const listed = this.catalog.find((m) => m.provider === providerName && m.model === model);
    if (listed || !this.allowUnlisted) return listed;
    return {
      id: modelId,
      name: `${model} (${providerName}, unlisted)`,
      provider: providerName,
      model,
      apiKeyRequired: KEY_OF_PROVIDER[providerName] ?? null,
      requiresLoading: provider instanceof LocalModelProvider,
      // Unlisted models may take what their provider can take; the provider refuses what the model cannot.
      capabilities: provider.features.images ? ['text', 'vision'] : ['text'],
      contextLength: UNLISTED_CONTEXT_LENGTH,
      pricing: null,
      temperatureRange: { min: 0, max: 2, step: 0.1, default: 0.7 },
    };
  }

  /** Entry, provider and key for a call: the user's own key wins over the server's. */
  async resolve(userId: string, modelId: string, options: ModelLookup = {}): Promise<ResolvedModel> {
    const entry = await this.find(modelId, options);
    const base = { entry, providerName: entry.provider };
    if (!entry.apiKeyRequired) return base;
    const apiKey = (await this.keys.keyForCall(userId, entry.apiKeyRequired)) ?? this.registry.serverKey(entry.provider);
    if (!apiKey) {
      throw new AppException(ErrorCode.API_KEY_REQUIRED, `Add your ${entry.apiKeyRequired} API key to use ${entry.name}`, HttpStatus.UNPROCESSABLE_ENTITY, {
        apiKeyRequired: entry.apiKeyRequired,
      });
    }
    return { ...base, apiKey };
  }

  /** The first catalog model of a provider instance: the default when a caller names only the provider. */
  firstOf(providerName: string): CatalogEntry {
    const entry = this.catalog.find((m) => m.provider === providerName);
    if (!entry) throw new AppException(ErrorCode.MODEL_NOT_FOUND, `No model of provider ${providerName} is in the catalog`, HttpStatus.NOT_FOUND);
    return entry;
  }

  localProvider(entry: CatalogEntry): LocalModelProvider {
    const provider = this.registry.local(entry.provider);
    if (!provider || !entry.requiresLoading) {
      throw new AppException(ErrorCode.MODEL_NOT_LOADABLE, `${entry.name} is not a local model and needs no loading`, HttpStatus.UNPROCESSABLE_ENTITY);
    }
    return provider;
  }

  private hasKey(entry: CatalogEntry, userKeys: Set<string>): boolean {
    return !entry.apiKeyRequired || userKeys.has(entry.apiKeyRequired) || Boolean(this.registry.serverKey(entry.provider));
  }

  private async reachableLocalProviders(): Promise<Set<string>> {
    const local = this.registry.all().filter((p) => p instanceof LocalModelProvider);
    const results = await Promise.all(local.map(async (p) => [p.name, (await this.discover(p.name)).reachable] as const));
    return new Set(results.filter(([, ok]) => ok).map(([name]) => name));
  }

  /** Models found on Ollama and extra OpenAI-compatible servers that the catalog does not list. */
  private async discoveredEntries(): Promise<CatalogEntry[]> {
    const known = new Set(this.catalog.map((m) => `${m.provider}\u0000${m.model}`));
    const sources = this.registry.all().filter((p) => p.kind === 'ollama' || (p.kind === 'openai' && p.name !== 'openai'));
    const found = await Promise.all(
      sources.map(async (p) => (await this.discover(p.name)).models.filter((m) => !known.has(`${p.name}\u0000${m.name}`)).map((m) => toEntry(p.name, p.kind === 'ollama', m))),
    );
    return found.flat();
  }

  private async discover(providerName: string): Promise<Discovery> {
    const cached = asDiscovery(await this.discovery.get(providerName));
    if (cached) return cached;
    const provider = this.registry.get(providerName)!;
    let result: Discovery;
    try {
      const models = await provider.listModels(this.registry.serverKey(providerName), AbortSignal.timeout(DISCOVERY_TIMEOUT_MS));
      result = { models: models.map(plainModel), reachable: true };
    } catch {
      result = { models: [], reachable: false };
    }
    await this.discovery.set(providerName, result, DISCOVERY_TTL_MS);
    return result;
  }
}

/** Only a discovered model's own fields, as plain data. */
function plainModel({ name, displayName, contextLength }: DiscoveredModel): DiscoveredModel {
  return { name, ...(displayName !== undefined && { displayName }), ...(contextLength !== undefined && { contextLength }) };
}

/** A cached discovery read back, or undefined when it is not one (a miss). */
function asDiscovery(value: unknown): Discovery | undefined {
  const v = value as Partial<Discovery> | undefined;
  return v && typeof v.reachable === 'boolean' && Array.isArray(v.models) && v.models.every((m) => typeof m?.name === 'string') ? (v as Discovery) : undefined;
}

function toEntry(providerName: string, local: boolean, model: DiscoveredModel): CatalogEntry {
  return {
    id: `${providerName}:${model.name}`,
    name: `${model.displayName ?? model.name} (${local ? 'Local' : providerName})`,
    provider: providerName,
    model: model.name,
    apiKeyRequired: null,
    requiresLoading: local,
    capabilities: ['text'],
    contextLength: model.contextLength ?? 8192,
    pricing: null,
    temperatureRange: { min: 0, max: 2, step: 0.1, default: 0.7 },
  };
}
