import { HttpStatus, Injectable } from '@nestjs/common';
import { AppException } from '../errors/app.exception';
import { ErrorCode } from '../errors/error-codes';

/** Whether the process is draining; readiness and new long-running work consult it. */
@Injectable()
export class LifecycleService {
  private readonly drains: Array<(graceMs: number) => Promise<void>> = [];
  private draining = false;
  private refusing = false;
  readonly startedAt = Date.now();

  get shuttingDown(): boolean {
    return this.draining;
  }

  /** New answers are refused once the server stops accepting: the ones running get the grace period. */
  assertAcceptingWork(): void {
    if (this.refusing) {
      throw new AppException(ErrorCode.SERVICE_UNAVAILABLE, 'The server is restarting; retry in a moment', HttpStatus.SERVICE_UNAVAILABLE);
    }
  }

  /** Readiness turns 503 (load balancers stop routing here); requests are still served. */
  beginShutdown(): void {
    this.draining = true;
  }

  /** After the shutdown delay: new answers are refused with 503 while running ones finish. */
  stopAcceptingWork(): void {
    this.draining = true;
    this.refusing = true;
  }

  /** Work that must end before the app closes (running answers) registers how to finish it within a grace period. */
  onDrain(drain: (graceMs: number) => Promise<void>): void {
    this.drains.push(drain);
  }

  /** Runs every registered drain; never rejects. */
  async drain(graceMs: number): Promise<void> {
    await Promise.allSettled(this.drains.map((drain) => drain(graceMs)));
  }

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }
}
