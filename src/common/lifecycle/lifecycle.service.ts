import { Injectable } from '@nestjs/common';

/** Whether the process is draining; readiness and new long-running work consult it. */
@Injectable()
export class LifecycleService {
  private draining = false;
  readonly startedAt = Date.now();

  get shuttingDown(): boolean {
    return this.draining;
  }

  beginShutdown(): void {
    this.draining = true;
  }

  uptimeSeconds(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }
}
