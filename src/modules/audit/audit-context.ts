import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Observable } from 'rxjs';

/** The HTTP request whose handler is running now, for audit entries written by services. */
const currentRequest = new AsyncLocalStorage<Request>();

export function auditRequest(): Request | undefined {
  return currentRequest.getStore();
}

/**
 * Global interceptor: runs each HTTP handler with its request in async-local storage, so a
 * service can audit an action with the caller's address and request id without every
 * controller passing the request down.
 */
@Injectable()
export class AuditContextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    // The handler starts when the observable is subscribed to: subscribe inside the store.
    return new Observable((subscriber) => currentRequest.run(req, () => next.handle().subscribe(subscriber)));
  }
}
