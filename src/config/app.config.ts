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
  validateSync,
  ValidationError,
} from 'class-validator';
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

  @IsString()
  HOST = '0.0.0.0';

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

  /** Argon2id memory cost in KiB (OWASP minimum 19456); lower only for tests. */
  @Type(() => Number)
  @IsInt()
  @Min(1024)
  @Max(1_048_576)
  PASSWORD_HASH_MEMORY_KIB = 19_456;

  /** Failed sign-ins in a row that lock an account, and for how long. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  LOGIN_MAX_FAILURES = 5;

  @Type(() => Number)
  @IsInt()
  @Min(1)
  LOGIN_LOCK_MINUTES = 15;

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

  /** Express `trust proxy` setting: false, true, a hop count or a list of subnets. */
  @IsString()
  TRUST_PROXY = 'false';

  /** Comma-separated allowed origins for browsers; empty = no CORS headers. */
  @IsString()
  CORS_ORIGINS = '';

  @Transform(toBoolean)
  @IsBoolean()
  SWAGGER_ENABLED = true;

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

  get trustProxy(): boolean | number | string {
    const v = this.TRUST_PROXY.trim();
    if (v === 'true' || v === 'false') return v === 'true';
    if (/^\d+$/.test(v)) return Number(v);
    return v;
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
