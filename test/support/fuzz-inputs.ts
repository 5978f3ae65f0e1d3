import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Schema-driven bad inputs for the fuzz suite: the routes and request schemas come from the
 * committed OpenAPI document, so a new route or DTO field is fuzzed without touching the suite.
 */

export interface Schema {
  $ref?: string;
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  oneOf?: Schema[];
  /** The spec writes a nullable $ref as anyOf: [{$ref}, {nullable, enum: [null]}]; read as oneOf here. */
  anyOf?: Schema[];
  allOf?: Schema[];
  example?: unknown;
  default?: unknown;
}

export type Location = 'body' | 'path' | 'query' | 'header';
type Key = string | number;

interface Parameter {
  name: string;
  in: Location | 'cookie';
  required?: boolean;
  schema?: Schema;
}

/** One input that gets bad values: a body field (`path` into the body), a parameter, or an unknown property. */
export interface Target {
  location: Location;
  /** Body: keys from the root ([] = the whole body); parameters: [name]. */
  path: Key[];
  schema?: Schema;
  /** Adds an unknown property to the object at `path` instead of replacing a value. */
  unknownProperty?: boolean;
  label: string;
}

export interface Route {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI template, e.g. /api/threads/{id}. */
  path: string;
  parameters: Parameter[];
  body?: Schema;
  /** /v1 answers in OpenAI's error format and, like OpenAI, ignores unknown body fields. */
  openAI: boolean;
  targets: Target[];
}

const doc = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: Schema }> } }>>;
  components: { schemas: Record<string, Schema> };
};

/** Follows $ref and folds allOf into one schema. */
export function resolve(schema: Schema | undefined): Schema {
  if (!schema) return {};
  if (schema.$ref) return resolve(doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]);
  if (schema.anyOf) {
    const { anyOf, ...rest } = schema;
    return resolve({ ...rest, oneOf: anyOf });
  }
  if (!schema.allOf) return schema;
  const { allOf, ...rest } = schema;
  return allOf.map(resolve).reduce<Schema>((merged, part) => ({ ...merged, ...part, properties: { ...merged.properties, ...part.properties } }), rest);
}

const label = (location: Location, path: Key[]) =>
  location === 'body' ? `body${path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('') || ' (whole)'}` : `${location} ${path[0]}`;

/** Every field of a body schema (nested objects and first array items included), plus an unknown property per object. */
function bodyTargets(schema: Schema, path: Key[] = []): Target[] {
  const s = resolve(schema);
  if (s.type === 'array' && s.items && resolve(s.items).properties) return bodyTargets(s.items, [...path, 0]);
  if (!s.properties) return [];
  const targets: Target[] = [{ location: 'body', path, schema: s, unknownProperty: true, label: `${label('body', path)} + unknown property` }];
  for (const [name, property] of Object.entries(s.properties)) {
    targets.push({ location: 'body', path: [...path, name], schema: property, label: label('body', [...path, name]) });
    targets.push(...bodyTargets(property, [...path, name]));
  }
  return targets;
}

export function routesFromOpenApi(): Route[] {
  const routes: Route[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const parameters = (operation.parameters ?? []).filter((p) => p.in !== 'cookie');
      const body = operation.requestBody?.content['application/json']?.schema;
      const targets: Target[] = [
        ...parameters.map((p): Target => ({ location: p.in as Location, path: [p.name], schema: p.schema, label: label(p.in as Location, [p.name]) })),
        ...(body ? [{ location: 'body' as const, path: [], schema: body, label: label('body', []) }, ...bodyTargets(body)] : []),
      ];
      if (parameters.some((p) => p.in === 'query')) targets.push({ location: 'query', path: ['zz_unknown'], unknownProperty: true, label: 'query + unknown parameter' });
      routes.push({ method: method as Route['method'], path, parameters, body, openAI: path.startsWith('/v1/'), targets });
    }
  }
  return routes;
}

// ---------------------------------------------------------------- plausible values

let emails = 0;

/**
 * A plausible value for a schema: `hints` (by field or parameter name) win, then enum's first
 * value, formats, the example, and the bounds. Objects get their required and hinted fields.
 */
export function plausible(schema: Schema | undefined, hints: Record<string, unknown>, name?: string): unknown {
  if (name !== undefined && name in hints) return hints[name];
  const s = resolve(schema);
  if (s.oneOf) return plausible(s.oneOf[0], hints);
  if (s.enum) return s.enum[0];
  if (s.properties) {
    const out: Record<string, unknown> = {};
    for (const [key, property] of Object.entries(s.properties)) {
      if (s.required?.includes(key) || key in hints) out[key] = plausible(property, hints, key);
    }
    return out;
  }
  switch (s.type) {
    case 'array':
      return Array.from({ length: s.minItems ?? 0 }, () => plausible(s.items, hints));
    case 'number':
    case 'integer':
      return typeof s.example === 'number' ? s.example : (s.minimum ?? Math.min(1, s.maximum ?? 1));
    case 'boolean':
      return s.default ?? false;
    default:
      if (s.format === 'email') return `fuzz${++emails}.${Date.now()}@example.com`;
      if (s.format === 'uuid') return randomUUID();
      if (typeof s.example === 'string' && conforms(s, s.example, false)) return s.example;
      return 'x'.repeat(Math.max(s.minLength ?? 1, 1));
  }
}

// ---------------------------------------------------------------- the oracle

/** A body value sent verbatim (deep nesting is built as text; JSON.stringify would overflow). */
export class RawJson {
  constructor(
    readonly json: string,
    readonly description: string,
  ) {}
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);

/** class-validator's length: code points, variation selectors not counted. */
const lengthOf = (s: string) => s.length - (s.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)?.length ?? 0) - (s.match(/[\uFE0E\uFE0F]/g)?.length ?? 0);

const FORMATS: Record<string, RegExp> = {
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  // Deliberately loose: the oracle only decides when a 2xx is acceptable.
  email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
};

/** Does the value satisfy the documented schema? `allowUnknown`: unknown object properties are accepted. */
export function conforms(schema: Schema | undefined, value: unknown, allowUnknown: boolean): boolean {
  const s = resolve(schema);
  if (value instanceof RawJson) return false;
  if (value === null) return s.nullable === true || (s.oneOf ?? []).some((alternative) => conforms(alternative, null, allowUnknown));
  if (s.oneOf) return s.oneOf.some((alternative) => conforms(alternative, value, allowUnknown));
  if (s.enum && !s.enum.includes(value)) return false;
  if (s.properties || s.type === 'object') {
    if (!isObject(value)) return false;
    const properties = s.properties ?? {};
    return (
      (s.required ?? []).every((key) => value[key] !== undefined) &&
      Object.entries(value).every(([key, v]) => (key in properties ? v === undefined || conforms(properties[key], v, allowUnknown) : allowUnknown || !s.properties))
    );
  }
  switch (s.type) {
    case 'string':
      return (
        typeof value === 'string' &&
        lengthOf(value) >= (s.minLength ?? 0) &&
        lengthOf(value) <= (s.maxLength ?? Infinity) &&
        (!s.pattern || new RegExp(s.pattern, 'u').test(value)) &&
        (!s.format || !FORMATS[s.format] || FORMATS[s.format].test(value))
      );
    case 'number':
    case 'integer':
      return typeof value === 'number' && Number.isFinite(value) && value >= (s.minimum ?? -Infinity) && value <= (s.maximum ?? Infinity) && (s.type === 'number' || Number.isInteger(value));
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value) && value.length >= (s.minItems ?? 0) && value.length <= (s.maxItems ?? Infinity) && value.every((item) => conforms(s.items, item, allowUnknown));
    default:
      return true;
  }
}

/** A query or path value as the server receives it (always text), against the parameter's schema. */
export function parameterConforms(schema: Schema | undefined, value: string | string[] | undefined, required: boolean): boolean {
  if (value === undefined) return !required;
  if (Array.isArray(value)) return false;
  const s = resolve(schema);
  // Query DTOs convert with @Type(() => Number), i.e. Number(text).
  if (s.type === 'number' || s.type === 'integer') return value.trim() !== '' && conforms(s, Number(value), false);
  return conforms(s, value, false);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** String.prototype.toWellFormed (ES2024): lone surrogates become U+FFFD, as a UTF-8 decoder makes them. */
export const toWellFormed = (text: string) => text.replace(LONE_SURROGATE, '\uFFFD');

/** NUL or a lone UTF-16 surrogate anywhere in a value (keys included): no text column can store it. */
export function hasUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000') || toWellFormed(value) !== value;
  if (Array.isArray(value)) return value.some(hasUnstorableText);
  if (isObject(value)) return Object.entries(value).some(([k, v]) => hasUnstorableText(k) || hasUnstorableText(v));
  return false;
}

// ---------------------------------------------------------------- bad values

/** A generated value that prints short in fast-check's counterexamples (200k-char strings included). */
export interface Bad {
  value: unknown;
  [fc.toStringMethod](): string;
}

export function preview(value: unknown): string {
  if (value === undefined) return '(omitted)';
  if (value instanceof RawJson) return value.description;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' && v.length > 60 ? `${v.slice(0, 24)}…(${v.length} chars)` : v));
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

export const bad = (value: unknown): Bad => ({ value, [fc.toStringMethod]: () => preview(value) });

export const DEEP = 10_000;
const deepArray = new RawJson(`${'['.repeat(DEEP)}${']'.repeat(DEEP)}`, `[[[…]]] nested ${DEEP} deep`);
const deepObject = new RawJson(`${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}`, `{"a":{"a":…}} nested ${DEEP} deep`);
const HUGE = 'x'.repeat(200_000);
/** Long but inside Node's 16 KiB request-line limit, for URLs and headers. */
const LONG = 'y'.repeat(8_000);
const BAD_CHARS = ['\u0000', '\ud800', '\udfff'];

const ODD_STRINGS = ['', ' ', '../', '../../etc/passwd', '..%2F', '%00', '%', 'not-a-uuid', '00000000-0000-0000-0000-000000000000', "' OR '1'='1", '<script>', '\\', '\u202e', '𝔘𝔫𝔦', 'null', 'NaN', 'Infinity', '-1', '1e308', '9007199254740993', 'true', '__proto__'];
const ODD_NUMBERS = [-1, 0, 0.5, -0.000001, 1e308, -1e308, 2 ** 53 + 1, Number.MIN_VALUE];
const WRONG_TYPES: unknown[] = [true, false, null, [], [null], {}, { a: 1 }, ['x', 1]];

/** Text with one bad character put somewhere in a plausible value. */
const withBadChar = (base: string) =>
  fc.tuple(fc.nat({ max: base.length }), fc.constantFrom(...BAD_CHARS)).map(([at, c]) => base.slice(0, at) + c + base.slice(at));

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** Cursors that decode to something: odd dates and ids in the expected shape, or any JSON. */
const oddCursor = fc.oneof(
  fc
    .record({
      v: fc.oneof(fc.constantFrom('2026-01-01T00:00:00.000Z', '0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999+14:00', '2026-02-30T00:00:00Z', '1970-01-01T00:00:00Z\u0000'), fc.string()),
      id: fc.oneof(fc.uuid(), fc.constantFrom('ffffffff-ffff-ffff-ffff-ffffffffffff', '../', '')),
    })
    .map(b64url),
  fc.jsonValue({ maxDepth: 2 }).map(b64url),
  fc.string({ unit: 'binary', maxLength: 40 }).map(b64url),
);

/** Out-of-range and boundary numbers for the schema (just outside each documented bound). */
function boundaryNumbers(s: Schema): number[] {
  return [s.minimum !== undefined ? s.minimum - 1 : undefined, s.maximum !== undefined ? s.maximum + 1 : undefined, s.maximum !== undefined ? s.maximum + 0.5 : undefined].filter(
    (n): n is number => n !== undefined,
  );
}

function boundaryStrings(s: Schema): string[] {
  return [s.maxLength !== undefined ? 'x'.repeat(s.maxLength + 1) : undefined, s.minLength ? 'x'.repeat(s.minLength - 1) : undefined]
    .concat(s.enum ? s.enum.map((e) => `${String(e).toUpperCase()} `) : [])
    .filter((v): v is string => v !== undefined);
}

/** Any text: the odd list, random unicode, cursors, bad characters in the plausible value, boundaries. */
function textArbitrary(s: Schema, base: string, name: string): fc.Arbitrary<string> {
  const choices = [
    fc.constantFrom(...ODD_STRINGS, ...boundaryStrings(s)),
    fc.string({ unit: 'binary', maxLength: 40 }),
    withBadChar(base),
    fc.constantFrom(...ODD_NUMBERS.map(String), ...boundaryNumbers(s).map(String)),
  ];
  if (/cursor/i.test(name)) choices.push(oddCursor);
  return fc.oneof(...choices);
}

export interface BadValues {
  /** Always tried first: the classes every field must survive. */
  examples: Bad[];
  /** Random further values. */
  arbitrary: fc.Arbitrary<Bad>;
}

/**
 * Bad values for one target. `base` is the target's plausible value (bad characters are
 * inserted into it so format checks such as email do not reject the value before storage).
 */
export function badValuesFor(target: Target, base: unknown): BadValues {
  const s = resolve(target.schema);
  const name = String(target.path[target.path.length - 1] ?? 'body');
  const baseText = typeof base === 'string' && base.length > 0 ? base : 'text';
  const injected = BAD_CHARS.map((c) => baseText.slice(0, 1) + c + baseText.slice(1));
  const text = textArbitrary(s, baseText, name);

  if (target.location === 'header') {
    // Headers are latin-1 without control characters: what an HTTP client can send at all.
    const headerSafe = (v: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(v);
    return {
      examples: ['not-a-uuid', '../', LONG, '-1', '99999999999'].map(bad),
      arbitrary: text.filter(headerSafe).map(bad),
    };
  }
  if (target.location === 'path') {
    // '', '.' and '..' change which route matches, so they are not values of this parameter.
    const inPath = (v: string) => !/^(\.|%2e){0,2}$/i.test(v);
    return {
      examples: [...injected, '../', '%00', 'not-a-uuid', LONG].map(bad),
      arbitrary: text.filter(inPath).map(bad),
    };
  }
  if (target.location === 'query') {
    const twice = fc.tuple(text, text).map((pair) => [...pair]);
    return {
      examples: [...injected, [baseText, baseText], '-1', '1e308', 'NaN', String(2 ** 53 + 1), LONG].map(bad),
      arbitrary: fc.oneof(text, twice).map(bad),
    };
  }
  if (target.unknownProperty) {
    const key = fc.oneof(fc.constantFrom('zz_unknown', '__proto__', 'constructor', 'isAdmin', '\u0000', '\ud800'), fc.string({ maxLength: 10 }));
    return {
      examples: [{ zz_unknown: 1 }, { __proto__: { polluted: true } }, { 'a\u0000b': 'x' }].map(bad),
      arbitrary: fc.tuple(key, fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => bad(JSON.parse(JSON.stringify({ [k]: v })))),
    };
  }
  const examples: unknown[] = [...injected, 12345, null, [], {}, deepArray, deepObject];
  if (target.path.length === 0) examples.push('just a string', 42, new RawJson('{"a":', 'truncated JSON'));
  else if (s.type === 'string' || s.oneOf) examples.push(HUGE);
  if (s.type === 'number' || s.type === 'integer') examples.push(...ODD_NUMBERS, ...boundaryNumbers(s), 'NaN', '1');
  return {
    examples: examples.map(bad),
    arbitrary: fc
      .oneof(
        text,
        fc.constantFrom(...ODD_NUMBERS, ...boundaryNumbers(s), ...WRONG_TYPES, undefined),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.jsonValue({ maxDepth: 3 }),
      )
      .map(bad),
  };
}

// ---------------------------------------------------------------- building the request

function setIn(root: unknown, path: Key[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(root) ? [...root] : { ...(root as object) }) as Record<Key, unknown>;
  const [head, ...rest] = path;
  const next = setIn(copy[head] ?? (typeof rest[0] === 'number' ? [] : {}), rest, value);
  if (next === undefined) delete copy[head];
  else copy[head] = next;
  return copy;
}

export function valueAt(root: unknown, path: Key[]): unknown {
  return path.reduce<unknown>((v, k) => (v == null ? undefined : (v as Record<Key, unknown>)[k]), root);
}

/** Stands in for a RawJson value until the body is text. */
const RAW_MARK = '\u0001raw\u0001';

/** The request body as sent: `value` put at the target (or merged in as an unknown property), RawJson spliced in as text. */
export function bodyWith(base: unknown, target: Target, value: unknown): { text: string; parsed: unknown } {
  const placed = target.unknownProperty ? setIn(base, target.path, { ...(valueAt(base, target.path) as object), ...(value as object) }) : setIn(base, target.path, value instanceof RawJson ? RAW_MARK : value);
  const text = JSON.stringify(placed ?? null);
  return { text: value instanceof RawJson ? text.replace(JSON.stringify(RAW_MARK), () => value.json) : text, parsed: value instanceof RawJson ? setIn(base, target.path, value) : placed };
}

/** encodeURIComponent that also encodes lone surrogates (as their WTF-8 bytes) instead of throwing. */
export function percentEncode(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    else out += encodeURIComponent(ch);
  }
  return out;
}
