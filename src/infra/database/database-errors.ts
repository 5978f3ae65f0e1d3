import { Prisma } from './generated/client';

/** Driver adapter error kinds that mean the database cannot be reached right now. */
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TlsConnectionError']);
/** PostgreSQL SQLSTATEs of the same: connection exceptions, shutdown, too many connections, no connections allowed. */
const UNREACHABLE_SQLSTATE = /^(08|57P0[1-3]|53300|55000)/;
/** Socket errors of the driver itself. */
const UNREACHABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
/** Errors worth another try once the database answers again: write conflicts and deadlocks. */
const CONFLICT_SQLSTATE = new Set(['40001', '40P01']);

interface AdapterCause {
  kind?: string;
  code?: string;
  originalCode?: string;
}

/** The driver adapter's structured cause, wherever this Prisma version put it. */
function adapterCause(error: unknown): AdapterCause | undefined {
  const e = error as { cause?: AdapterCause & { cause?: AdapterCause }; meta?: { driverAdapterError?: { cause?: AdapterCause } } };
  return e?.meta?.driverAdapterError?.cause ?? e?.cause?.cause ?? e?.cause;
}

/** True when the database is down or unreachable: a 503 for the client, a retry for background writes. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError && (error.code.startsWith('P1') || error.code === 'P2024')) return true;
  const cause = adapterCause(error);
  if (cause?.kind && UNREACHABLE_KINDS.has(cause.kind)) return true;
  const code = cause?.originalCode ?? cause?.code ?? (error as { code?: unknown })?.code;
  return typeof code === 'string' && (UNREACHABLE_SQLSTATE.test(code) || UNREACHABLE_ERRNO.has(code));
}

/** True for a failed write that may succeed if tried again shortly. */
export function isTransientDatabaseError(error: unknown): boolean {
  if (isDatabaseUnavailable(error)) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2034') return true;
  const cause = adapterCause(error);
  const code = cause?.originalCode ?? cause?.code;
  return cause?.kind === 'TransactionWriteConflict' || (typeof code === 'string' && CONFLICT_SQLSTATE.has(code));
}
