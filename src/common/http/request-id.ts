import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

export const REQUEST_ID_HEADER = 'x-request-id';
/** An incoming id is kept only when it is short and plain, so it is safe in logs and headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of the request whose work is running now, for logs written outside its handler. */
const requestContext = new AsyncLocalStorage<string>();

export function currentRequestId(): string | undefined {
  return requestContext.getStore();
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
  requestContext.run(id, next);
}
