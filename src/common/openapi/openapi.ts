import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, type ParameterObject, SwaggerModule } from '@nestjs/swagger';
import { AppConfig } from '../../config/app.config';
import { readBuildInfo } from '../../config/build-info';
import { CSRF_CHECKED_GET_PATHS } from '../http/csrf';
import { ErrorCode } from '../errors/error-codes';
import { errorContent } from './api-envelope.decorator';
import { ErrorEnvelopeDto } from './envelope.dto';

export const ACCESS_COOKIE = 'access_token';
export const DOCS_PATH = 'api/docs';
export const SPEC_PATH = '/api/openapi.json';

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
const upperFirst = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** `HealthController.live` → `healthLive`: stable ids for generated clients. */
export function operationId(controllerKey: string, methodKey: string): string {
  return lowerFirst(controllerKey.replace(/Controller$/, '')) + upperFirst(methodKey);
}

export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = app.get(AppConfig);
  const builder = new DocumentBuilder()
    .setTitle('Parley API')
    .setDescription(
      'Self-hostable multi-model chat backend. Every JSON response uses the envelope ' +
        '`{success, data, pagination?, timestamp, requestId}` or `{success:false, error:{code,message,details?}, timestamp, requestId}`.',
    )
    .setVersion(readBuildInfo(config).version)
    .addCookieAuth(ACCESS_COOKIE, { type: 'apiKey', in: 'cookie', name: ACCESS_COOKIE }, 'cookie')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT or pk_ personal token' }, 'bearer')
    // Relative: Swagger UI and generated clients call the server that served the spec.
    .addServer('/', 'This server')
    .build();
  const document = SwaggerModule.createDocument(app, builder, {
    operationIdFactory: operationId,
    extraModels: [ErrorEnvelopeDto],
  });
  addDefaultErrors(document);
  oneTagPerOperation(document);
  dropOptionalQueryExamples(document);
  fixNullables(document);
  return document;
}

/**
 * A method's @ApiTags add to its controller's, and Swagger UI lists an operation under
 * each of its tags (GET /api/version showed under both `health` and `system`). The last
 * tag is the most specific (the method's own): keep that one.
 */
function oneTagPerOperation(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (op?.tags && op.tags.length > 1) op.tags = op.tags.slice(-1);
    }
  }
}

/**
 * Swagger UI's "Try it out" pre-fills parameters from their examples: an optional filter
 * (`q`, `action`, `model`…) pre-filled changes what the request means. Only required
 * parameters keep examples.
 */
function dropOptionalQueryExamples(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of [item.get, item.post, item.put, item.patch, item.delete]) {
      for (const param of (op?.parameters ?? []) as ParameterObject[]) {
        if (param.in !== 'query' || param.required) continue;
        delete param.example;
        if (param.schema && 'example' in param.schema) delete param.schema.example;
      }
    }
  }
}

/** `{type:'object', nullable:true, enum:[null]}`: only null, in OpenAPI 3.0 terms (Ajv's `nullable` included). */
export const NULL_SCHEMA = { type: 'object', nullable: true, enum: [null] } as const;

/**
 * @nestjs/swagger writes a nullable `$ref` as `{nullable, allOf:[{$ref}]}` and a nullable
 * enum without `null` in it. Under OpenAPI 3.0.3 (and Ajv) `nullable` only widens `type`,
 * so both refuse the nulls the server sends. Rewritten as `anyOf: [{$ref}, NULL_SCHEMA]`
 * (openapi-typescript: `X | null`) and enums that list `null`.
 */
export function fixNullables(document: OpenAPIObject): void {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const schema = node as Record<string, unknown>;
    if (schema.nullable === true) {
      const composed = (schema.allOf ?? schema.oneOf ?? schema.anyOf) as unknown[] | undefined;
      if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
      if (composed && !(Array.isArray(schema.enum) && schema.enum.length === 1 && schema.enum[0] === null)) {
        const members = schema.oneOf ? 'oneOf' : 'anyOf';
        const list = [...composed, { ...NULL_SCHEMA }];
        delete schema.allOf;
        delete schema.oneOf;
        delete schema.anyOf;
        delete schema.nullable;
        delete schema.type;
        schema[members] = list;
      }
    }
    Object.values(schema).forEach(visit);
  };
  visit(document.paths);
  visit(document.components?.schemas);
}



/**
 * Any operation can fail unexpectedly, or meet a database outage: document the 500 and 503
 * envelopes everywhere. Writes (and
 * the billed GET /api/llm/stream) made with the session cookie from a foreign origin are
 * refused before any controller runs (csrf.ts): 403 CSRF_REJECTED, sign-in included. A
 * secured route refuses personal tokens its scopes do not cover: 403 FORBIDDEN.
 */
function addDefaultErrors(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries({ get: item.get, post: item.post, put: item.put, patch: item.patch, delete: item.delete })) {
      if (!op) continue;
      op.responses['500'] ??= { description: 'INTERNAL_ERROR: unexpected failure', content: errorContent(500) };
      // Any operation can meet a database outage (or a drain): 503 with Retry-After, never a 500.
      op.responses['503'] ??= {
        description: 'SERVICE_UNAVAILABLE: the database is unreachable or the server is shutting down; retry after Retry-After seconds',
        headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } },
        content: errorContent(503, { code: ErrorCode.SERVICE_UNAVAILABLE, message: 'The database is unavailable, try again shortly' }),
      };
      const csrfChecked = method !== 'get' || CSRF_CHECKED_GET_PATHS.has(path);
      if (op.security?.length && !op.responses['403']) {
        // A personal token is refused where its scopes do not reach (a route without x-token-scopes refuses all).
        op.responses['403'] = {
          description: `FORBIDDEN: a personal token without the scope this route needs${csrfChecked ? '; CSRF_REJECTED: a cookie-authenticated browser request from a foreign origin' : ''}`,
          content: errorContent(403),
        };
      } else if (csrfChecked && !op.responses['403']) {
        op.responses['403'] = {
          description: 'CSRF_REJECTED: a cookie-authenticated browser request from a foreign origin',
          content: errorContent(403, { code: ErrorCode.CSRF_REJECTED, message: 'Cross-site request refused: a browser page from another origin cannot act with this session' }),
        };
      }
    }
  }
}

/**
 * Swagger UI at /api/docs (only when SWAGGER_ENABLED; off by default in production). No
 * `persistAuthorization`: it would keep bearer tokens in the browser's localStorage, where
 * any script of the origin reads them. No validator badge: it would send the spec's URL to
 * validator.swagger.io (and the CSP allows no other host).
 */
export function setupSwagger(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: SPEC_PATH,
    raw: ['json'],
    customSiteTitle: 'Parley API',
    swaggerOptions: { withCredentials: true, validatorUrl: null },
  });
}

/** The committed openapi.json: stable formatting so `openapi:check` is a plain string compare. */
export function serializeDocument(document: OpenAPIObject): string {
  return JSON.stringify(document, null, 2) + '\n';
}
