import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { AllExceptionsFilter } from './errors/all-exceptions.filter';
import { createValidationPipe } from './errors/validation';
import { EnvelopeInterceptor } from './http/envelope.interceptor';
import { SseStreams } from './http/sse-streams';
import { LifecycleService } from './lifecycle/lifecycle.service';

/** Cross-cutting HTTP behaviour: envelope, errors, validation, lifecycle state, SSE streams. */
@Global()
@Module({
  providers: [
    LifecycleService,
    SseStreams,
    { provide: APP_FILTER, useClass: AllExceptionsFilter },
    { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
    { provide: APP_PIPE, useFactory: createValidationPipe },
  ],
  exports: [LifecycleService, SseStreams],
})
export class CommonModule {}
