import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { SseAccessGuard } from '../../common/http/sse-access';
import { MessagesService } from './messages.service';

/** Only an answer of the user's thread and this model can be followed: a 404 before the stream's headers (see SseAccessGuard). */
@Injectable()
export class AnswerReadableGuard extends SseAccessGuard {
  constructor(private readonly messages: MessagesService) {
    super();
  }

  protected check(user: AuthUser, p: Record<string, string>): Promise<void> {
    return this.messages.assertReadable(user.id, p.threadId, p.modelId, p.messageId);
  }
}
