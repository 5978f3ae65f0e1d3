import { Prisma } from './generated/client';

/** Driver adapter error kinds (@prisma/driver-adapter-utils) that mean no usable connection. */
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable', // ECONNREFUSED / ENOTFOUND (P1001)
  'ConnectionClosed', // ECONNRESET (P1017)
  'SocketTimeout', // ETIMEDOUT (P1008)
  'TooManyConnections', // 53300 (P2037)
  'DatabaseDoesNotExist', // 3D000 (P1003)
  'DatabaseAccessDenied', // 28000 (P1010)
  'AuthenticationFailed', // 28P01 (P1000)
  'TlsConnectionError', // (P1011)
]);

/**
 * Errors that pg (and PGlite) raise as plain Errors, without a code, when a connection is
 * lost or cannot be had; adapter-pg passes them through unwrapped.
 */
const CONNECTION_LOST_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'PGlite is closed',
]);

/** A PostgreSQL error that ended or refused the session (FATAL), or a connection/shutdown SQLSTATE. */
function isSessionError(code: unknown, severity: unknown): boolean {
  if (severity === 'FATAL' || severity === 'PANIC') return true; // e.g. 55000 database not accepting connections, 57P01 terminated
  return typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P') || code === '53300');
}

/**
 * True when an error means the database cannot be used right now (down, refusing
 * connections, connections cut), so the request deserves a 503 rather than a 500.
 * Prisma 7 reports these as a PrismaClientKnownRequestError with a P1xxx code, or P2039
 * (model queries) / P2010 (raw queries) carrying the adapter's `driverAdapterError`, whose
 * `cause.kind` is a connection kind or `postgres` with a FATAL / 08xxx / 57Pxx error;
 * connection losses mid-query surface as pg's plain Errors.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Walks `cause` a few levels: a caller may have wrapped the driver's error.
  for (let depth = 0; error instanceof Error && depth < 4; depth++, error = error.cause) {
    if (error instanceof Prisma.PrismaClientInitializationError) return true;
    if (error instanceof Prisma.PrismaClientKnownRequestError) {
      if (error.code.startsWith('P1')) return true;
      error = error.meta?.driverAdapterError;
      if (!(error instanceof Error)) return false;
    }
    if (error.name === 'DriverAdapterError') {
      const cause = error.cause as { kind?: string; code?: unknown; severity?: unknown } | undefined;
      return UNAVAILABLE_KINDS.has(cause?.kind ?? '') || (cause?.kind === 'postgres' && isSessionError(cause.code, cause.severity));
    }
    // pg's DatabaseError (FATAL on connect, 57P01 when terminated), should one reach us unwrapped.
    const { code, severity } = error as Error & { code?: unknown; severity?: unknown };
    if (typeof severity === 'string' && isSessionError(code, severity)) return true;
    if (CONNECTION_LOST_MESSAGES.has(error.message)) return true;
  }
  return false;
}

/** True for a failed write that may succeed if tried again shortly: an outage, a write conflict, a deadlock. */
export function isTransientDatabaseError(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034') return true;
  const cause = (error as { meta?: { driverAdapterError?: { cause?: { kind?: string; code?: unknown } } } })?.meta?.driverAdapterError?.cause;
  return cause?.kind === 'TransactionWriteConflict' || (cause?.kind === 'postgres' && (cause.code === '40001' || cause.code === '40P01'));
}

/** A unique constraint refused the row: someone stored it first (e.g. another pod finalised the answer). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}
