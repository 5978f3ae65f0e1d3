import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Guards on the committed openapi.json for what generated clients (openapi-typescript,
 * hey-api, orval) and Swagger UI do with it. `npm run openapi:check` keeps the file equal to
 * what the code produces; these keep what it produces honest.
 */

type Node = Record<string, any>;
const spec = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'openapi.json'), 'utf8')) as Node;
const schemas = spec.components.schemas as Record<string, Node>;
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const operations = Object.entries(spec.paths as Record<string, Node>).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((method) => ({ where: `${method.toUpperCase()} ${path}`, op: item[method] as Node })),
);
const deref = (s: Node): Node => (s.$ref ? schemas[s.$ref.replace('#/components/schemas/', '')] : s);

/** Calls `visit` on every schema reachable from `root` (components followed once each). */
function walk(root: Node, visit: (schema: Node, at: string) => void, at = '', seen = new Set<string>()): void {
  if (!root || typeof root !== 'object') return;
  if (root.$ref) {
    const name = root.$ref.replace('#/components/schemas/', '');
    if (seen.has(name)) return;
    seen.add(name);
    return walk(schemas[name], visit, name, seen);
  }
  visit(root, at);
  for (const [key, value] of Object.entries(root.properties ?? {})) walk(value as Node, visit, `${at}.${key}`, seen);
  if (root.items) walk(root.items, visit, `${at}[]`, seen);
  if (typeof root.additionalProperties === 'object') walk(root.additionalProperties, visit, `${at}{}`, seen);
  for (const key of ['allOf', 'anyOf', 'oneOf']) for (const [i, s] of (root[key] ?? []).entries()) walk(s, visit, `${at}/${key}/${i}`, seen);
}

const isNullOnly = (s: Node) => Array.isArray(s.enum) && s.enum.length === 1 && s.enum[0] === null;

describe('openapi.json contract', () => {
  it('types every 2xx JSON response down to its properties (no bare objects)', () => {
    const holes: string[] = [];
    for (const { where, op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Node>)) {
        if (!status.startsWith('2')) continue;
        const media = response.content?.['application/json'];
        if (!media) continue;
        walk(media.schema, (s, at) => {
          const objectLike = s.type === 'object' || (!s.type && !s.$ref && !s.allOf && !s.anyOf && !s.oneOf && !s.enum);
          if (objectLike && !s.properties && !s.additionalProperties && !isNullOnly(s)) holes.push(`${where} ${status} ${at || '(root)'}`);
        });
      }
    }
    expect(holes).toEqual([]);
  });

  it('writes nulls the way OpenAPI 3.0 validators accept them', () => {
    const bad: string[] = [];
    const visit = (node: unknown, at: string): void => {
      if (!node || typeof node !== 'object') return;
      const s = node as Node;
      if (s.nullable === true) {
        if (!s.type) bad.push(`${at}: nullable without type`);
        if (s.allOf || s.anyOf || s.oneOf) bad.push(`${at}: nullable beside a composition`);
        if (Array.isArray(s.enum) && !s.enum.includes(null)) bad.push(`${at}: nullable enum without null`);
      }
      for (const [k, v] of Object.entries(s)) if (k !== 'example' && k !== 'examples') visit(v, `${at}/${k}`);
    };
    visit(spec.paths, '#/paths');
    visit(schemas, '#/components/schemas');
    expect(bad).toEqual([]);
  });

  it('declares each SSE stream with a schema per event', () => {
    const streams = operations.flatMap(({ where, op }) => {
      const media = op.responses['200']?.content?.['text/event-stream'];
      return media ? [{ where, events: media['x-sse-events'] as Record<string, Node> | undefined }] : [];
    });
    expect(streams.map((s) => s.where).sort()).toEqual([
      'GET /api/llm/stream',
      'GET /api/models/{modelId}/load/stream',
      'GET /api/threads/{id}/events',
      'GET /api/threads/{threadId}/models/{modelId}/messages/{messageId}/stream',
      'POST /api/llm/stream',
      'POST /api/threads/{threadId}/models/{modelId}/messages',
      'POST /v1/chat/completions',
      'POST /v1/responses',
    ]);
    for (const { where, events } of streams) {
      expect({ where, events: Object.keys(events ?? {}).length > 0 }).toEqual({ where, events: true });
      for (const schema of Object.values(events!)) walk(schema, (s) => expect(s).toBeDefined());
    }
    const answer = operations.find((o) => o.where.endsWith('{messageId}/stream'))!.op.responses['200'].content['text/event-stream']['x-sse-events'];
    expect(Object.keys(answer)).toEqual(['message_start', 'token', 'message_complete', 'error', 'close']);
    const load = operations.find((o) => o.where.endsWith('/load/stream'))!.op.responses['200'].content['text/event-stream']['x-sse-events'];
    expect(Object.keys(load)).toEqual(['progress', 'loaded', 'error']);
    const thread = operations.find((o) => o.where.endsWith('/events'))!.op.responses['200'].content['text/event-stream']['x-sse-events'];
    expect(Object.keys(thread)).toEqual(['message_start', 'message_complete', 'message_error', 'thread_updated']);
  });

  it('shows each error status with its own code', () => {
    const expected: Record<string, string> = { '400': 'VALIDATION_ERROR', '401': 'UNAUTHORIZED', '404': 'NOT_FOUND', '429': 'RATE_LIMITED', '500': 'INTERNAL_ERROR' };
    const wrong: string[] = [];
    for (const { where, op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Record<string, Node>)) {
        const media = response.content?.['application/json'];
        if (!/^[45]/.test(status) || media?.schema?.$ref !== '#/components/schemas/ErrorEnvelopeDto') continue;
        const code = media.example?.error?.code;
        if (!code || (expected[status] && code !== expected[status]) || (status !== '400' && code === 'VALIDATION_ERROR')) wrong.push(`${where} ${status}: ${code}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has a server, one tag per operation, and a demo login example', () => {
    expect(spec.servers.length).toBeGreaterThan(0);
    expect(operations.filter(({ op }) => op.tags?.length !== 1).map((o) => `${o.where}: ${o.op.tags}`)).toEqual([]);
    expect(deref(spec.paths['/api/login'].post.requestBody.content['application/json'].schema).properties).toMatchObject({
      username: { example: 'admin@example.com' },
      password: { example: 'admin123' },
    });
  });

  it('pre-fills nothing that changes a request: no examples on optional query parameters', () => {
    const prefilled = operations.flatMap(({ where, op }) =>
      ((op.parameters ?? []) as Node[]).filter((p) => p.in === 'query' && !p.required && (p.example !== undefined || p.schema?.example !== undefined)).map((p) => `${where} ?${p.name}`),
    );
    expect(prefilled).toEqual([]);
  });

  it('keeps optional request body fields optional in generated types (no `default`)', () => {
    const defaults: string[] = [];
    for (const { where, op } of operations) {
      const media = op.requestBody?.content?.['application/json'];
      if (!media) continue;
      walk(media.schema, (s, at) => {
        const required = new Set<string>(s.required ?? []);
        for (const [name, prop] of Object.entries((s.properties ?? {}) as Record<string, Node>)) {
          if (!required.has(name) && deref(prop).default !== undefined) defaults.push(`${where} ${at}.${name}`);
        }
      });
    }
    expect(defaults).toEqual([]);
  });
});
