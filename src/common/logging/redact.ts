/** Keys whose values never reach a log line, wherever they sit in a logged object. */
export const SECRET_KEY = /(pass(word)?|secret|token|api[-_]?key|apikey|authorization|cookie|credential|encryption[-_]?key|private[-_]?key)/i;
export const REDACTED = '[Redacted]';

function isPlain(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Copy of `value` with secret-looking keys replaced, walking plain objects and arrays only
 * (requests, errors and other class instances have their own serializers).
 */
export function redactSecrets<T>(value: T, depth = 0): T {
  if (depth > 8) return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1)) as T;
  if (!isPlain(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null ? REDACTED : redactSecrets(v, depth + 1);
  }
  return out as T;
}

/**
 * Query parameters that carry what users write (prompts of GET /api/llm/stream, search
 * terms): private, so never logged either.
 */
export const CONTENT_QUERY_KEY = /^(prompt|system|q|query|search|content|text|messages?|input)$/i;

/** URL with the values of secret-looking and content query parameters replaced (the names stay). */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of new Set(params.keys())) if (SECRET_KEY.test(key) || CONTENT_QUERY_KEY.test(key)) params.set(key, REDACTED);
  return `${url.slice(0, q)}?${params.toString()}`;
}
