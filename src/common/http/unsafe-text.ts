/**
 * Characters no string field may carry: NUL, which PostgreSQL `text` and `jsonb` cannot
 * store, and UTF-16 surrogates without their pair, which are not characters at all (they
 * break UTF-8 encoding and validators such as the email one).
 */
const UNSAFE_CHARACTER = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function isUnsafeText(text: string): boolean {
  return UNSAFE_CHARACTER.test(text);
}

/**
 * The path (`messages.0.content`) of the first string, or object key, in `value` that
 * carries an unsafe character; undefined when there is none. Iterative, so no input
 * shape can exhaust the stack.
 */
export function findUnsafeText(value: unknown, root = ''): string | undefined {
  const stack: Array<[unknown, string]> = [[value, root]];
  while (stack.length) {
    const [current, path] = stack.pop()!;
    if (typeof current === 'string') {
      if (isUnsafeText(current)) return path;
    } else if (current && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        const childPath = path ? `${path}.${key}` : key;
        if (isUnsafeText(key)) return path || key;
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}

/** Nesting allowed in a JSON body; real requests need a handful of levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether a JSON text nests arrays and objects deeper than `max`: one linear pass over the
 * raw bytes before parsing, so a body of 10,000 `[` never reaches a recursive consumer.
 */
export function exceedsJsonDepth(json: Buffer, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const byte = json[i];
    if (inString) {
      if (byte === 0x5c) i++; // backslash: skip the escaped character
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return true;
    } else if (byte === 0x5d || byte === 0x7d) depth--;
  }
  return false;
}
