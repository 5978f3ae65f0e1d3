import { Logger as NestLogger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { json, NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import { existsSync, statSync } from 'node:fs';
import { AppModule, AppModuleOptions } from './app.module';
import { csrfProtection } from './common/http/csrf';
import { requestIdMiddleware } from './common/http/request-id';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './common/http/unsafe-text';
import { ACCESS_COOKIE, createOpenApiDocument, DOCS_PATH, setupSwagger } from './common/openapi/openapi';
import { AppConfig } from './config/app.config';
import { isShared } from './config/dev-secrets';
import { restrictEmbeddedDatabase } from './infra/database/database.adapters';
import { httpMetricsMiddleware } from './infra/metrics/http-metrics.middleware';
import { Metrics } from './infra/metrics/metrics';
import { REFRESH_COOKIE } from './modules/auth/auth.cookies';

/** Request bodies above this are refused with 413 (chat messages are far smaller). */
const BODY_LIMIT = '1mb';
/**
 * The body limit of a thread message send, whose images may come as base64 data: URLs
 * (4/3 of their size; one of IMAGE_FETCH_MAX_BYTES' default 10 MiB is 13.4 MiB).
 */
const MESSAGE_BODY_LIMIT = '20mb';
/** POST /api/threads/:threadId/models/:modelId/messages: the one route given MESSAGE_BODY_LIMIT. */
const MESSAGE_SEND_PATH = /^\/api\/threads\/[^/]+\/models\/[^/]+\/messages\/?$/i;

/**
 * Refuses, before parsing, a JSON body nested deeper than any request needs: recursive
 * consumers (class-transformer) would overflow the stack on it. Shaped as body-parser's
 * own errors, so it answers 400 like malformed JSON.
 */
function refuseDeepJson(_req: unknown, _res: unknown, body: Buffer): void {
  if (exceedsJsonDepth(body)) {
    throw Object.assign(new Error(`JSON nests deeper than ${MAX_JSON_DEPTH} levels`), { status: 400, statusCode: 400, expose: true, type: 'entity.too.deep' });
  }
}

/** The session cookies (access token, and the refresh token sent to /api/refresh only). */
const SESSION_COOKIES = [ACCESS_COOKIE, REFRESH_COOKIE];
/** Answers that hand out or end a session: never cached either. */
const SESSION_PATHS = /^\/api\/(login|register|refresh|logout)\/?$/i;

/** JSON and everything else of the API: nothing to run, nothing to frame. */
const API_CSP = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

/**
 * Swagger UI (/api/docs): its page loads swagger-ui-bundle.js, the standalone preset and
 * swagger-ui-init.js from /api/docs itself and has no inline script, so scripts are
 * 'self' only. Its HTML carries two <style> blocks and a style attribute, hence inline
 * styles. Images include data: URIs from its CSS; "Try it out" calls this origin.
 */
const DOCS_CSP = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'font-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

/**
 * helmet's headers on every response (errors and CSRF refusals included): nosniff,
 * X-Frame-Options DENY and frame-ancestors 'none', a CSP (API_CSP, or DOCS_CSP under
 * /api/docs), no referrer, cross-origin isolation headers; HSTS in production only (a
 * development server on http://localhost must not pin HTTPS for the whole host).
 */
function securityHeaders(config: AppConfig): (req: Request, res: Response, next: NextFunction) => void {
  const options = (directives: Record<string, string[]>) =>
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives },
      xFrameOptions: { action: 'deny' },
      strictTransportSecurity: config.isProduction ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    });
  const api = options(API_CSP);
  const docs = options(DOCS_CSP);
  const docsPrefix = `/${DOCS_PATH}`.toLowerCase();
  return (req, res, next) => {
    const path = req.path.toLowerCase();
    (path === docsPrefix || path.startsWith(`${docsPrefix}/`) ? docs : api)(req, res, next);
  };
}

/**
 * `Cache-Control: no-store` on the answers to requests that carry credentials (a bearer
 * token or a session cookie) and on sign-in answers: no browser or shared cache keeps a
 * user's data. SSE answers set their own `no-cache, no-transform` later, which also keeps
 * them out of caches.
 */
function noStoreForCredentials(req: Request, res: Response, next: NextFunction): void {
  const cookies = (req.cookies ?? {}) as Record<string, unknown>;
  if (req.headers.authorization || SESSION_COOKIES.some((name) => cookies[name]) || SESSION_PATHS.test(req.path)) {
    res.setHeader('Cache-Control', 'no-store');
  }
  next();
}

/**
 * DATA_DIR holds every conversation (the embedded database) and the development secrets:
 * the database directory is restricted to the owner at each start (PGlite creates its files
 * 0666; see restrictEmbeddedDatabase), and a DATA_DIR others can read or enter is reported.
 * Parley created DATA_DIR 0700 itself if it did not exist (it leaves one that did alone).
 */
function secureDataDir(config: AppConfig): void {
  const logger = new NestLogger('DataDir');
  const embedded = config.databaseEngine === 'pglite' && !config.embeddedDbPath.startsWith('memory://');
  if (embedded) {
    const changed = restrictEmbeddedDatabase(config.embeddedDbPath);
    if (changed.includes(config.embeddedDbPath)) {
      logger.warn(`The embedded database ${config.embeddedDbPath} was open to other users: restricted it and its ${changed.length - 1} shared entries to the owner`);
    } else if (changed.length) {
      logger.debug(`Restricted ${changed.length} embedded database files to the owner`);
    }
  }
  if ((embedded || config.generatedSecrets) && existsSync(config.dataDir)) {
    const mode = statSync(config.dataDir).mode;
    if (isShared(mode)) {
      logger.warn(
        `DATA_DIR ${config.dataDir} is open to other users (mode ${(mode & 0o777).toString(8)}); it holds every conversation: run chmod 700 ${config.dataDir}`,
      );
    }
  }
}

/** Why the swagger metadata could not be loaded, if it could not (the OpenAPI CLI refuses to write then). */
export let swaggerMetadataError: Error | undefined;

/** Swagger metadata generated from our DTOs (scripts/swagger-metadata.mjs); absent before the first build. */
async function loadSwaggerMetadata(): Promise<void> {
  let metadata: (() => Promise<Record<string, unknown>>) | undefined;
  try {
    metadata = (require('./metadata') as { default: () => Promise<Record<string, unknown>> }).default;
  } catch {
    return;
  }
  try {
    await SwaggerModule.loadPluginMetadata(metadata);
  } catch (error) {
    // A metadata file older than the code (e.g. in watch mode) must not stop the app.
    swaggerMetadataError = error as Error;
    new NestLogger('OpenAPI').warn(`Stale src/metadata.ts ignored (run npm run generate): ${(error as Error).message}`);
  }
}

/**
 * Everything that turns the Nest application into Parley's HTTP service. main.ts and the
 * end-to-end tests both call it, so tests exercise exactly what production runs.
 */
export async function configureApp(app: NestExpressApplication): Promise<NestExpressApplication> {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  app.flushLogs();

  // First: request counts and durations see every request, refused and unmatched ones too.
  app.use(httpMetricsMiddleware(app.get(Metrics)));
  // Before any other middleware, so every log line and error carries the id.
  app.use(requestIdMiddleware);
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  app.use(securityHeaders(config));
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins, credentials: true });
  // Before the body is parsed or anyone is authenticated; CORS answers preflights first.
  app.use(csrfProtection({ trustedOrigins: config.corsOrigins }));
  const parseJson = json({ limit: BODY_LIMIT, verify: refuseDeepJson });
  const parseMessageJson = json({ limit: MESSAGE_BODY_LIMIT, verify: refuseDeepJson });
  app.use((req: Request, res: Response, next: NextFunction) => (req.method === 'POST' && MESSAGE_SEND_PATH.test(req.path) ? parseMessageJson : parseJson)(req, res, next));
  app.use(cookieParser());
  app.use(noStoreForCredentials);

  app.setGlobalPrefix('api', {
    exclude: [
      { path: 'healthz', method: RequestMethod.GET },
      { path: 'metrics', method: RequestMethod.GET },
      { path: 'v1/{*path}', method: RequestMethod.ALL },
    ],
  });

  if (config.swaggerEnabled) {
    await loadSwaggerMetadata();
    setupSwagger(app, createOpenApiDocument(app));
  }

  secureDataDir(config);
  if (config.generatedSecrets) {
    new NestLogger('Config').warn(
      `${config.generatedSecrets.names.join(' and ')} not set: using development values kept in ${config.generatedSecrets.path}. Set them in production.`,
    );
  }
  return app;
}

export async function createApp(config: AppConfig, options: AppModuleOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bufferLogs: true,
    bodyParser: false,
  });
  return configureApp(app);
}
