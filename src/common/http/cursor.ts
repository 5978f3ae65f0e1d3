import { AppException } from '../errors/app.exception';

/**
 * Keyset cursors: the sort value and id of the last item, base64url JSON. Opaque to
 * clients; anything that does not decode to the expected shape is a VALIDATION_ERROR.
 */
export interface Cursor {
  /** Sort value of the last item seen (ISO date or string). */
  v: string;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(raw: string, isValidValue: (v: string) => boolean = isIsoDate): Cursor {
  const invalid = () => AppException.validation('Invalid cursor', { fields: { cursor: ['cursor is not valid for this list'] } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const c = parsed as Partial<Cursor>;
  if (!c || typeof c !== 'object' || typeof c.v !== 'string' || typeof c.id !== 'string' || !UUID.test(c.id) || !isValidValue(c.v)) {
    throw invalid();
  }
  return { v: c.v, id: c.id };
}

export function isIsoDate(value: string): boolean {
  return /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value));
}

/** Fetch `limit + 1` rows, then call this: the extra row only says there is more. */
export function pageOf<T extends { id: string }>(
  rows: T[],
  limit: number,
  sortValue: (row: T) => string,
): { items: T[]; cursor: string | null; hasMore: boolean } {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items, hasMore, cursor: hasMore && last ? encodeCursor({ v: sortValue(last), id: last.id }) : null };
}
