import 'reflect-metadata';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsISO8601,
  IsJSON,
  IsNumber,
  IsUrl,
  IsOptional,
  getMetadataStorage,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  MaxLength,
  IsEmail,
  ValidateBy,
  validateSync,
  ValidationError,
} from 'class-validator';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { loadDevelopmentSecrets } from './dev-secrets';

export enum NodeEnv {
  development = 'development',
  production = 'production',
  test = 'test',
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Environment strings "true"/"false"/"1"/"0" → boolean; anything else is left for the validator to reject. */
const toBoolean = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes'].includes(v)) return true;
  if (['false', '0', 'no', ''].includes(v)) return false;
  return value;
};

/**
 * Every environment variable the service reads, validated once at boot.
 * `.env.example` documents each one; keep both in step.
 */
export class AppConfig {
  @IsEnum(NodeEnv)
  NODE_ENV: NodeEnv = NodeEnv.development;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /** Interface to listen on; default 127.0.0.1 outside production, 0.0.0.0 in production (see `host`). */
  @IsOptional()
  @IsString()
  HOST?: string;

  /** Where the embedded database and generated development secrets live. */
  @IsString()
  DATA_DIR = './data';

  /** postgres:// URL → PostgreSQL; unset → embedded PGlite. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// or postgresql:// URL' })
  DATABASE_URL?: string;

  /** Embedded database directory; `memory://` keeps it in memory (tests). Defaults to DATA_DIR/db. */
  @IsOptional()
  @IsString()
  EMBEDDED_DB_PATH?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  DATABASE_POOL_MAX = 10;

  @Transform(toBoolean)
  @IsBoolean()
  MIGRATE_ON_START = false;

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  /** Prefix of every Redis key, stream, channel and queue of this deployment (several can share one Redis). */
  @Matches(/^[A-Za-z0-9:_-]{1,64}$/, { message: 'REDIS_KEY_PREFIX must be 1-64 letters, digits, ":", "_" or "-"' })
  REDIS_KEY_PREFIX = 'parley:';

  /** How often a pod renews the heartbeat of each answer it generates (Redis mode). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(60_000)
  GENERATION_HEARTBEAT_MS = 5_000;

  /** An answer whose heartbeat is older than this is finalised as `interrupted` by another pod (its pod died). */
  @Type(() => Number)
  @IsInt()
  @Min(500)
  @Max(600_000)
  GENERATION_ORPHAN_AFTER_MS = 20_000;

  /** Bearer token required by GET /metrics; unset = open (keep /metrics off the public ingress then). */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  @IsOptional()
  @IsIn(LOG_LEVELS)
  LOG_LEVEL?: LogLevel;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  LOG_PRETTY?: boolean;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS = 10_000;

  /** After SIGTERM, readiness answers 503 while the server keeps serving this long, so load balancers stop routing to it. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(120_000)
  SHUTDOWN_DELAY_MS = 5_000;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  /** 32 bytes as 64 hex characters or base64. */
  @IsOptional()
  @Matches(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, {
    message: 'ENCRYPTION_KEY must be 32 bytes, as 64 hex characters or 44 base64 characters',
  })
  ENCRYPTION_KEY?: string;

  /** The previous JWT secret, still accepted for verification while secrets rotate. */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET_PREVIOUS must be at least 32 characters' })
  JWT_SECRET_PREVIOUS?: string;

  /** The previous ENCRYPTION_KEY: opens provider keys until `npm run keys:rotate` re-encrypts them. */
  @IsOptional()
  @Matches(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/]{43}=)$/, {
    message: 'ENCRYPTION_KEY_PREVIOUS must be 32 bytes, as 64 hex characters or 44 base64 characters',
  })
  ENCRYPTION_KEY_PREVIOUS?: string;

  /** Open sign-up; defaults to true outside production. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  ALLOW_REGISTRATION?: boolean;

  /**
   * `provider/model` ids reach models of a configured provider that the catalog does not list
   * (unpriced in usage); defaults to true outside production.
   */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  ALLOW_UNLISTED_MODELS?: boolean;

  /** Create admin@example.com / admin123 when the user table is empty (never in production). */
  @Transform(toBoolean)
  @IsBoolean()
  SEED_DEMO_USER = true;

  @Type(() => Number)
  @IsInt()
  @Min(60)
  @Max(86_400)
  ACCESS_TOKEN_TTL_SECONDS = 900;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(365)
  REFRESH_TOKEN_TTL_DAYS = 30;

  // Personal tokens
  /** Days a new personal API token (pk_…) lives when its request gives no expiresInDays. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(365)
  API_TOKEN_DEFAULT_TTL_DAYS = 90;

  /** Active (unrevoked, unexpired) personal API tokens one user may hold; creating more answers 409. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  API_TOKENS_MAX_PER_USER = 20;
  // End of personal tokens

  /** Argon2id memory cost in KiB (OWASP minimum 19456); lower only for tests. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(1_048_576)
  PASSWORD_HASH_MEMORY_KIB = 19_456;

  // Login protection and caps
  /** Failed sign-ins per (client IP, username) answered without delay; later ones wait. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100)
  LOGIN_DELAY_FREE_FAILURES = 3;

  /** First delay after the free failures, doubling with each further failure; 0 turns delays off. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(600_000)
  LOGIN_DELAY_BASE_MS = 1000;

  /** Longest delay between two sign-in attempts of one (client IP, username). */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  LOGIN_DELAY_MAX_MS = 300_000;

  /** Failures of a (client IP, username) are forgotten this long after the last one (and at a successful sign-in). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_080)
  LOGIN_FAILURES_FORGET_MINUTES = 60;

  /** Server-Sent Event streams one user may hold open at once (chat answers, /api/llm/stream, model loads). */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_SSE_STREAMS_PER_USER = 20;

  /** /v1 and /api/llm calls in flight at once, per user and per personal token. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_CONCURRENT_CALLS_PER_USER = 20;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  MAX_CONCURRENT_CALLS_PER_TOKEN = 10;

  /** Who may make the server load (pull) local models: `admin` (default) or every signed-in user. */
  @IsIn(['admin', 'users'])
  MODEL_LOADS: 'admin' | 'users' = 'admin';
  // End of login protection and caps

  /** Per-route limits per minute overriding seed 001's defaults, e.g. `login=10,profile.update=40`. */
  @IsString()
  @Matches(/^(\s*[a-z][a-zA-Z.]*\s*=\s*\d+\s*)?(,\s*[a-z][a-zA-Z.]*\s*=\s*\d+\s*)*$/, {
    message: 'RATE_LIMITS must look like name=limit,name=limit',
  })
  RATE_LIMITS = '';

  // --- Model providers (each base URL in the form its SDK takes) ---------------------
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  OPENAI_BASE_URL?: string;

  @IsOptional()
  @IsString()
  OPENAI_API_KEY?: string;

  /** Seed 000's generic names for the default OpenAI-compatible provider; OPENAI_* win. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  PROVIDER_BASE_URL?: string;

  @IsOptional()
  @IsString()
  PROVIDER_API_KEY?: string;

  @IsOptional()
  @IsJSON()
  PROVIDER_HEADERS_JSON?: string;

  /** Extra OpenAI-compatible servers: JSON [{"name","baseUrl","apiKey"?,"headers"?}]. */
  @IsOptional()
  @IsJSON()
  OPENAI_COMPATIBLE_ENDPOINTS?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  ANTHROPIC_BASE_URL?: string;

  @IsOptional()
  @IsString()
  ANTHROPIC_API_KEY?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true })
  GOOGLE_BASE_URL?: string;

  @IsOptional()
  @IsString()
  GOOGLE_API_KEY?: string;

  @IsUrl({ require_tld: false, require_protocol: true })
  OLLAMA_BASE_URL = 'http://127.0.0.1:11434';

  @Transform(toBoolean)
  @IsBoolean()
  OLLAMA_ENABLED = true;

  /** The offline demo model; defaults to on outside production. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  DEMO_PROVIDER_ENABLED?: boolean;

  /** Milliseconds between the demo model's tokens. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(5000)
  DEMO_TOKEN_DELAY_MS = 40;

  /** A catalog file replacing or extending the shipped one (same format). */
  @IsOptional()
  @IsString()
  MODELS_FILE?: string;

  @Type(() => Number)
  @IsInt()
  @Min(1000)
  PROVIDER_TIMEOUT_MS = 120_000;

  /** Attempts after the first, before the first token only. */
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  PROVIDER_MAX_RETRIES = 2;

  @Type(() => Number)
  @IsInt()
  @Min(0)
  PROVIDER_RETRY_BASE_MS = 500;

  /** Answers one user may have generating at once. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  MAX_CONCURRENT_GENERATIONS_PER_USER = 3;

  /** true: a client that disconnects cancels its answer; false (default): it is finished and stored. */
  @Transform(toBoolean)
  @IsBoolean()
  ABORT_GENERATION_ON_DISCONNECT = false;

  /** Model that writes summaries and titles; default: the thread's own model. */
  @IsOptional()
  @IsString()
  SUMMARY_MODEL?: string;

  /** Summarize once the unsummarized history passes this share of the model's context budget. */
  @Type(() => Number)
  @IsNumber()
  @Min(0.05)
  @Max(0.95)
  SUMMARY_TRIGGER_FRACTION = 0.5;

  // --- Gateway and stateless LLM endpoints (seeds 000 and 003) -----------------------
  /** Seed 000: store /v1 completions that name a conversation; false = /v1/conversations answer 501. */
  @Transform(toBoolean)
  @IsBoolean()
  PERSIST_TRANSCRIPTS = false;

  /** Model for /api/llm/* when the request names none (seed 003's OPENAI_DEFAULT_MODEL is read too). */
  @IsOptional()
  @IsString()
  LLM_DEFAULT_MODEL?: string;

  @IsOptional()
  @IsString()
  OPENAI_DEFAULT_MODEL?: string;

  /** System prompt for /api/llm/* when the request gives none (seed 003's OPENAI_SYSTEM_PROMPT is read too). */
  @IsOptional()
  @IsString()
  LLM_SYSTEM_PROMPT?: string;

  @IsOptional()
  @IsString()
  OPENAI_SYSTEM_PROMPT?: string;

  /** Seed 003: requests per minute on /api/llm/* (the `llm` entry of RATE_LIMITS wins). */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  LLM_RATE_LIMIT_PER_MINUTE?: number;

  /** Cache answers of POST /api/llm/complete, per user, model and parameters. */
  @Transform(toBoolean)
  @IsBoolean()
  LLM_CACHE_ENABLED = false;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  LLM_CACHE_MAX_ENTRIES = 500;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  LLM_CACHE_TTL_SECONDS = 600;

  /** Comma-separated words or phrases a prompt may not contain (whole words, any case). */
  @IsString()
  LLM_BANNED_TERMS = '';

  /** Longest prompt accepted, in characters (all of a request's messages together). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  LLM_MAX_PROMPT_CHARS = 100_000;

  /** Largest image a /v1 `image_url` may carry (data: URL decoded, or fetched from an http(s) URL), in bytes. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(100 * 1024 * 1024)
  IMAGE_FETCH_MAX_BYTES = 10 * 1024 * 1024;

  /** Deadline for fetching one http(s) `image_url` (resolution, redirects and body together). */
  @Type(() => Number)
  @IsInt()
  @Min(100)
  @Max(120_000)
  IMAGE_FETCH_TIMEOUT_MS = 10_000;

  /**
   * Express `trust proxy`: `false` (default: the peer is the client), the number of proxies
   * in front (e.g. 1), or their addresses: comma-separated IPs/CIDRs and the names loopback,
   * linklocal, uniquelocal. Never `true` (see AppConfig.parseTrustProxy).
   */
  @IsString()
  @ValidateBy({
    name: 'trustProxy',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && !('error' in AppConfig.parseTrustProxy(value)),
      defaultMessage: (args) => {
        const parsed = AppConfig.parseTrustProxy(String(args?.value ?? ''));
        return 'error' in parsed ? parsed.error : 'invalid';
      },
    },
  })
  TRUST_PROXY = 'false';

  /** Comma-separated allowed origins for browsers; empty = no CORS headers. */
  @IsString()
  CORS_ORIGINS = '';

  /** Swagger UI at /api/docs and the spec at /api/openapi.json; default false in production, true elsewhere. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  SWAGGER_ENABLED?: boolean;

  // HTTP hardening
  /** First admin, created or promoted at every start (AdminBootstrap); never changes an existing password. */
  @IsOptional()
  @IsEmail({}, { message: 'ADMIN_EMAIL must be an email address (the admin account to create or promote)' })
  @MaxLength(254)
  ADMIN_EMAIL?: string;

  /** Password of the ADMIN_EMAIL account when it has to be created (10–256 characters). */
  @IsOptional()
  @IsString()
  @MinLength(10, { message: 'ADMIN_PASSWORD must be at least 10 characters' })
  @MaxLength(256)
  @ValidateBy({
    name: 'adminPassword',
    validator: {
      validate: (value: unknown, args) => {
        const email = (args?.object as AppConfig | undefined)?.ADMIN_EMAIL;
        return Boolean(email) && String(value).trim().toLowerCase() !== email!.trim().toLowerCase();
      },
      defaultMessage: (args) =>
        (args?.object as AppConfig | undefined)?.ADMIN_EMAIL
          ? 'ADMIN_PASSWORD must not equal ADMIN_EMAIL'
          : 'ADMIN_PASSWORD needs ADMIN_EMAIL (the account it is the password of)',
    },
  })
  ADMIN_PASSWORD?: string;

  get host(): string {
    return this.HOST ?? (this.isProduction ? '0.0.0.0' : '127.0.0.1');
  }

  get swaggerEnabled(): boolean {
    return this.SWAGGER_ENABLED ?? !this.isProduction;
  }

  /**
   * TRUST_PROXY as Express takes it. `true` is refused: Express would then take the
   * leftmost X-Forwarded-For entry, which the client writes, as its address (rate limits,
   * login delays and the audit log would believe it); so is a range covering every address.
   */
  static parseTrustProxy(value: string): { value: false | number | string[] } | { error: string } {
    const v = value.trim().toLowerCase();
    const trustAll =
      'TRUST_PROXY must not trust every address: clients could then choose the IP Parley sees. ' +
      'Give the number of proxies in front of Parley (e.g. 1 behind one load balancer) or their addresses (e.g. 10.0.0.0/8 or loopback)';
    if (v === 'false' || v === '') return { value: false };
    if (v === 'true') return { error: trustAll };
    if (/^\d+$/.test(v)) {
      const hops = Number(v);
      return hops <= 32 ? { value: hops } : { error: 'TRUST_PROXY hop count must be at most 32' };
    }
    const entries = v.split(',').map((e) => e.trim());
    for (const entry of entries) {
      if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
      const [address, prefix, ...rest] = entry.split('/');
      const family = isIP(address);
      const bits = family === 4 ? 32 : 128;
      const prefixOk =
        prefix === undefined ||
        (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits) ||
        (family === 4 && isIP(prefix) === 4);
      if (!family || rest.length || !prefixOk) {
        return {
          error: `TRUST_PROXY entry "${entry}" is not an IP address, a CIDR range (10.0.0.0/8) or one of loopback, linklocal, uniquelocal; ` +
            'or give a hop count (e.g. 1)',
        };
      }
      if (prefix !== undefined && (Number(prefix) === 0 || prefix === '0.0.0.0')) return { error: trustAll };
    }
    return { value: entries };
  }
  // End of HTTP hardening

  /** Build metadata; `npm run build` also records them in dist/build-info.json. */
  @IsOptional()
  @IsString()
  GIT_COMMIT?: string;

  @IsOptional()
  @IsISO8601()
  BUILD_TIME?: string;

  /** Set when development secrets were taken from DATA_DIR (logged as a warning at boot). */
  generatedSecrets?: { names: string[]; path: string };

  get isProduction(): boolean {
    return this.NODE_ENV === NodeEnv.production;
  }

  get logLevel(): LogLevel {
    return this.LOG_LEVEL ?? (this.isProduction ? 'info' : 'debug');
  }

  get logPretty(): boolean {
    return this.LOG_PRETTY ?? !this.isProduction;
  }

  get dataDir(): string {
    return resolve(this.DATA_DIR);
  }

  get embeddedDbPath(): string {
    return this.EMBEDDED_DB_PATH ?? resolve(this.dataDir, 'db');
  }

  get databaseEngine(): 'postgresql' | 'pglite' {
    return this.DATABASE_URL ? 'postgresql' : 'pglite';
  }

  get corsOrigins(): string[] {
    return this.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  }

  /** Always set after loadConfig(): given, or generated for development. */
  get jwtSecret(): string {
    return this.JWT_SECRET!;
  }

  get encryptionKey(): string {
    return this.ENCRYPTION_KEY!;
  }

  get allowRegistration(): boolean {
    return this.ALLOW_REGISTRATION ?? !this.isProduction;
  }

  get allowUnlistedModels(): boolean {
    return this.ALLOW_UNLISTED_MODELS ?? !this.isProduction;
  }

  get seedDemoUser(): boolean {
    return this.SEED_DEMO_USER && !this.isProduction;
  }

  get rateLimitOverrides(): Record<string, number> {
    return Object.fromEntries([
      ...(this.LLM_RATE_LIMIT_PER_MINUTE ? [['llm', this.LLM_RATE_LIMIT_PER_MINUTE] as const] : []),
      ...this.RATE_LIMITS.split(',')
        .map((pair) => pair.split('=').map((s) => s.trim()))
        .filter(([name, limit]) => name && limit)
        .map(([name, limit]) => [name, Number(limit)] as const),
    ]);
  }

  get llmDefaultModel(): string | undefined {
    return this.LLM_DEFAULT_MODEL ?? this.OPENAI_DEFAULT_MODEL;
  }

  get llmSystemPrompt(): string | undefined {
    return this.LLM_SYSTEM_PROMPT ?? this.OPENAI_SYSTEM_PROMPT;
  }

  get bannedTerms(): string[] {
    return this.LLM_BANNED_TERMS.split(',').map((t) => t.trim()).filter(Boolean);
  }

  get demoProviderEnabled(): boolean {
    return this.DEMO_PROVIDER_ENABLED ?? !this.isProduction;
  }

  /** Validated at load time, so always a value Express takes. */
  get trustProxy(): false | number | string[] {
    const parsed = AppConfig.parseTrustProxy(this.TRUST_PROXY);
    return 'value' in parsed ? parsed.value : false;
  }
}

/** The variable names, taken from the validation decorators so the class stays the only list. */
const ENV_KEYS = [
  ...new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(AppConfig, '', true, false)
      .map((m) => m.propertyName),
  ),
];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.map((e) => {
    const shown = /SECRET|KEY|PASSWORD|URL/.test(e.property) ? '(hidden)' : JSON.stringify(e.value);
    return `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')} (got ${shown})`;
  });
}

/**
 * Validates the environment into an AppConfig. Throws ConfigError naming every bad
 * variable. Production must be given its secrets; elsewhere missing ones are generated
 * once and kept in DATA_DIR so sessions and encrypted keys survive restarts.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const relevant = Object.fromEntries(
    ENV_KEYS.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  const config = plainToInstance(AppConfig, relevant, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: false, forbidUnknownValues: false });
  if (errors.length) throw new ConfigError(describe(errors));

  const missing = (['JWT_SECRET', 'ENCRYPTION_KEY'] as const).filter((k) => !config[k]);
  if (missing.length) {
    if (config.isProduction) {
      throw new ConfigError(missing.map((k) => `${k}: required when NODE_ENV=production`));
    }
    const generated = loadDevelopmentSecrets(config.dataDir);
    for (const key of missing) config[key] = generated[key];
    config.generatedSecrets = { names: missing, path: generated.path };
  }
  return config;
}
