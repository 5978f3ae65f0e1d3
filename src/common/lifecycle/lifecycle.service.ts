import { HttpStatus, Injectable } from '@nestjs/common';
import { AppException } from '../errors/app.exception';
import { ErrorCode } from '../errors/error-codes';

/** Whether the process is draining; readiness and new long-running work consult it. */
@Injectable()
export class LifecycleService {
  private draining = false;
  readonly startedAt = Date.now();

  get shuttingDown(): boolean {
    return this.draining;
  }

  /** New model calls are refused while draining: the ones running get the grace period. */
  assertAcceptingWork(): void {
    if (this.draining) {
      throw new AppException(ErrorCode.SERVICE_UNAVAILABLE, 'The server is restarting; retry in a moment', HttpStatus.SERVICE_UNAVAILABLE);
    }
  }

  beginShutdown(): void {
    this.draining = true;
  }

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }
}
