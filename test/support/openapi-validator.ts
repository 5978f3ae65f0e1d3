import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Checks real responses against the committed openapi.json: the route (method + path
 * template), the status, the media type, and the body against its schema (Ajv 8 with
 * ajv-formats and OpenAPI 3.0's `nullable`). Strict: an object schema that declares no
 * `additionalProperties` refuses unknown properties, as generated clients assume.
 * `text/event-stream` responses are checked frame by frame against the media type's
 * `x-sse-events` (event name → schema of its `data:` JSON).
 */

type Schema = Record<string, unknown>;
interface MediaType {
  schema?: Schema;
  'x-sse-events'?: Record<string, Schema>;
}
interface Operation {
  responses: Record<string, { content?: Record<string, MediaType> }>;
}
interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  /** Literal segments win over parameters (`/v1/models` before `/v1/models/{model}`). */
  params: number;
  op: Operation;
}

const SPEC_FILE = join(__dirname, '..', '..', 'openapi.json');
const SPEC_ID = 'openapi.json';
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/** Object schemas without `additionalProperties` become closed (clone; the spec is not changed). */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === 'example' || key === 'examples' ? value : closeObjects(value);
  if (out.properties && typeof out.properties === 'object' && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

/** `#/components/…` refs of a schema outside the components document point into it. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${SPEC_ID}${v}` : rebase(v)]),
  );
}

export interface CheckedResponse {
  status: number;
  headers: Record<string, unknown>;
  body?: unknown;
  text?: string;
}

export class OpenApiValidator {
  private readonly ajv: Ajv;
  private readonly routes: Route[];
  private readonly cache = new Map<string, ValidateFunction>();

  constructor(spec: { paths: Record<string, Record<string, Operation>>; components?: unknown }) {
    this.ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: SPEC_ID, components: closeObjects(spec.components) } as Schema);
    this.routes = [];
    for (const [template, item] of Object.entries(spec.paths)) {
      const params = (template.match(/\{[^}]+\}/g) ?? []).length;
      const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
      for (const method of METHODS) if (item[method]) this.routes.push({ method, template, pattern, params, op: item[method] });
    }
    this.routes.sort((a, b) => a.params - b.params);
  }

  static fromFile(file = SPEC_FILE): OpenApiValidator {
    return new OpenApiValidator(JSON.parse(readFileSync(file, 'utf8')));
  }

  /** Problems of one response, as readable lines; empty when it matches (or the route is not in the spec). */
  check(method: string, url: string, res: CheckedResponse): string[] {
    const path = url.replace(/^[a-z]+:\/\/[^/]+/i, '').split(/[?#]/)[0];
    const route = this.routes.find((r) => r.method === method.toLowerCase() && r.pattern.test(path));
    // Routes the spec does not have (unknown paths, methods) are the tests' own business.
    if (!route) return [];
    const where = `${method.toUpperCase()} ${route.template} → ${res.status}`;
    const response = route.op.responses[String(res.status)] ?? route.op.responses.default;
    if (!response) return [`${where}: status ${res.status} is not documented (documented: ${Object.keys(route.op.responses).join(', ')})`];
    const contentType = String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!contentType || res.status === 204 || method.toLowerCase() === 'head') return [];
    const media = response.content?.[contentType];
    if (!media) return [`${where}: content type ${contentType} is not documented (documented: ${Object.keys(response.content ?? {}).join(', ') || 'none'})`];
    const key = `${method} ${route.template} ${res.status} ${contentType}`;
    if (contentType === 'text/event-stream') return this.checkEvents(where, key, media, res);
    if (!media.schema || !/json/.test(contentType)) return [];
    return this.errors(where, 'body', this.validator(key, media.schema), res.body);
  }

  private checkEvents(where: string, key: string, media: MediaType, res: CheckedResponse): string[] {
    const events = media['x-sse-events'];
    if (!events) return [`${where}: text/event-stream declares no x-sse-events`];
    const text = typeof res.text === 'string' ? res.text : Buffer.isBuffer(res.body) ? res.body.toString() : typeof res.body === 'string' ? res.body : undefined;
    if (text === undefined) return [];
    const problems: string[] = [];
    const frames = text.split(/\n\n/);
    // The piece after the last blank line is '' or a frame cut short by a client that stopped reading.
    frames.pop();
    for (const frame of frames) {
      const lines = frame.split('\n').filter((l) => l && !l.startsWith(':'));
      if (!lines.length) continue;
      const field = (name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).replace(/^ /, ''));
      const event = field('event')[0] ?? 'message';
      const raw = field('data').join('\n');
      const schema = events[event];
      if (!schema) {
        problems.push(`${where}: SSE event "${event}" is not documented (documented: ${Object.keys(events).join(', ')})`);
        continue;
      }
      let data: unknown = raw;
      try {
        data = JSON.parse(raw);
      } catch {
        /* a literal such as [DONE] */
      }
      problems.push(...this.errors(where, `event ${event}`, this.validator(`${key} ${event}`, schema), data));
    }
    return problems;
  }

  private validator(key: string, schema: Schema): ValidateFunction {
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(rebase(closeObjects(schema)) as Schema);
      this.cache.set(key, validate);
    }
    return validate;
  }

  private errors(where: string, what: string, validate: ValidateFunction, data: unknown): string[] {
    if (validate(data)) return [];
    const lines = (validate.errors ?? []).slice(0, 8).map((e) => {
      const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
      return `  ${what}${e.instancePath || ''} ${e.message}${extra}`;
    });
    return [`${where}: response does not match openapi.json\n${lines.join('\n')}\n  ${what}: ${JSON.stringify(data).slice(0, 600)}`];
  }
}

let shared: OpenApiValidator | undefined;
/** One validator per test file (the spec is read and compiled once). */
export function specValidator(): OpenApiValidator {
  return (shared ??= OpenApiValidator.fromFile());
}
