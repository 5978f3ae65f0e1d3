import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { SseAccessGuard } from '../../common/http/sse-access';
import { ThreadsService } from './threads.service';

/** Only the owner follows a thread: a 404 before the stream's headers (see SseAccessGuard). */
@Injectable()
export class ThreadOwnerGuard extends SseAccessGuard {
  constructor(private readonly threads: ThreadsService) {
    super();
  }

  protected async check(user: AuthUser, params: Record<string, string>): Promise<void> {
    await this.threads.owned(user.id, params.id);
  }
}
