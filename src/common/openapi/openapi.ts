import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, getSchemaPath, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppConfig } from '../../config/app.config';
import { readBuildInfo } from '../../config/build-info';
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
    .build();
  const document = SwaggerModule.createDocument(app, builder, {
    operationIdFactory: operationId,
    extraModels: [ErrorEnvelopeDto],
  });
  addDefaultErrors(document);
  return document;
}

/** Any operation can fail unexpectedly: document the 500 envelope everywhere. */
function addDefaultErrors(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const op of [item.get, item.post, item.put, item.patch, item.delete]) {
      if (!op || op.responses['500']) continue;
      op.responses['500'] = {
        description: 'INTERNAL_ERROR: unexpected failure',
        content: { 'application/json': { schema: { $ref: getSchemaPath(ErrorEnvelopeDto) } } },
      };
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
