import { CallHandler, ExecutionContext, Injectable, NestInterceptor, StreamableFile } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { map, Observable } from 'rxjs';
import { Paginated, RAW_RESPONSE, successEnvelope } from './envelope';
import { requestIdOf } from './request-id';

/** Wraps every JSON result in seed 001's success envelope. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.getAllAndOverride<boolean>(RAW_RESPONSE, [context.getHandler(), context.getClass()]);
    if (context.getType() !== 'http' || raw) return next.handle();
    const requestId = requestIdOf(context.switchToHttp().getRequest<Request>());
    return next.handle().pipe(
      map((result: unknown) => {
        if (result instanceof StreamableFile) return result;
        if (result instanceof Paginated) return successEnvelope(result.data, requestId, result.pagination);
        return successEnvelope(result ?? null, requestId);
      }),
    );
  }
}
