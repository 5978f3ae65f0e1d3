import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'x-request-id';
/** An incoming id is kept only when it is short and plain, so it is safe in logs and headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A request's id, and what its one log line carries besides the method, URL and status. */
interface RequestContext {
  id: string;
  logFields: Record<string, unknown>;
  /** Set once the request's line is written: later fields need a line of their own. */
  logged: boolean;
}

const CONTEXT = Symbol('requestContext');
/** The request whose work is running now, for logs written outside its handler. */
const requestContext = new AsyncLocalStorage<RequestContext>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.id;
}

/**
 * Adds fields to the current request's log line (e.g. a model call's sizes and tokens), so
 * a request is one line. False when there is no request or its line is already written.
 */
export function addToRequestLog(fields: Record<string, unknown>): boolean {
  const context = requestContext.getStore();
  if (!context || context.logged) return false;
  Object.assign(context.logFields, fields);
  return true;
}

/** The fields added to this request's line, marking it written (the logger calls this once, as it writes it). */
export function takeRequestLogFields(req: object): Record<string, unknown> {
  const context = (req as { [CONTEXT]?: RequestContext })[CONTEXT];
  if (!context) return {};
  context.logged = true;
  return context.logFields;
}

export function requestIdOf(req: Request): string {
  return (req as Request & { id?: string }).id ?? '';
}

/** Honours a sane x-request-id or makes one; echoes it on the response. Runs before everything else. */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.headers[REQUEST_ID_HEADER];
  const id = typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : `req_${randomUUID()}`;
  (req as Request & { id: string }).id = id;
  res.setHeader(REQUEST_ID_HEADER, id);
  const context: RequestContext = { id, logFields: {}, logged: false };
  (req as Request & { [CONTEXT]?: RequestContext })[CONTEXT] = context;
  requestContext.run(context, next);
}
