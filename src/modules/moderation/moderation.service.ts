import { HttpStatus, Injectable } from '@nestjs/common';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Seed 003's basic moderation, for every prompt a user sends a model (chat messages,
 * /api/llm/*, the /v1 gateway): no banned term, no prompt past the size limit.
 */
@Injectable()
export class ModerationService {
  /** One pattern for all terms: whole words or phrases, any case, after Unicode normalisation. */
  private readonly banned?: RegExp;

  constructor(private readonly config: AppConfig) {
    const terms = config.bannedTerms.map((t) => escapeRegExp(t.normalize('NFKC')).replace(/\s+/g, '\\s+'));
    if (terms.length) this.banned = new RegExp(`(?<![\\p{L}\\p{N}])(?:${terms.join('|')})(?![\\p{L}\\p{N}])`, 'iu');
  }

  /** Throws 422 CONTENT_REJECTED when the texts of one request break a rule. */
  check(texts: string[]): void {
    const length = texts.reduce((sum, t) => sum + t.length, 0);
    if (length > this.config.LLM_MAX_PROMPT_CHARS) {
      throw new AppException(
        ErrorCode.CONTENT_REJECTED,
        `The prompt is too long: ${length} characters, at most ${this.config.LLM_MAX_PROMPT_CHARS} are accepted`,
        HttpStatus.UNPROCESSABLE_ENTITY,
        { reason: 'too_long', length, limit: this.config.LLM_MAX_PROMPT_CHARS },
      );
    }
    // The term itself is not echoed: the list is the operator's, not the caller's.
    if (this.banned && texts.some((t) => this.banned!.test(t.normalize('NFKC')))) {
      throw new AppException(ErrorCode.CONTENT_REJECTED, 'The prompt contains a term this server does not accept', HttpStatus.UNPROCESSABLE_ENTITY, {
        reason: 'banned_term',
      });
    }
  }
}
