import { Logger as NestLogger, RequestMethod } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { json } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule, AppModuleOptions } from './app.module';
import { requestIdMiddleware } from './common/http/request-id';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './common/http/unsafe-text';
import { createOpenApiDocument, setupSwagger } from './common/openapi/openapi';
import { AppConfig } from './config/app.config';

/** Request bodies above this are refused with 413 (chat messages are far smaller). */
const BODY_LIMIT = '1mb';

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

  // Before any other middleware, so every log line and error carries the id.
  app.use(requestIdMiddleware);
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');
  app.use(json({ limit: BODY_LIMIT, verify: refuseDeepJson }));
  app.use(cookieParser());
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins, credentials: true });

  app.setGlobalPrefix('api', {
    exclude: [{ path: 'healthz', method: RequestMethod.GET }, { path: 'v1/{*path}', method: RequestMethod.ALL }],
  });

  if (config.SWAGGER_ENABLED) {
    await loadSwaggerMetadata();
    setupSwagger(app, createOpenApiDocument(app));
  }

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
