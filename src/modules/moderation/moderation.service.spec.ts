import { AppException } from '../../common/errors/app.exception';
import { loadConfig } from '../../config/app.config';
import { ModerationService } from './moderation.service';

function moderation(env: Record<string, string>): ModerationService {
  return new ModerationService(
    loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'a'.repeat(64), EMBEDDED_DB_PATH: 'memory://', ...env }),
  );
}

function rejection(run: () => void): AppException | undefined {
  try {
    run();
  } catch (error) {
    return error as AppException;
  }
  return undefined;
}

describe('ModerationService', () => {
  const service = moderation({ LLM_BANNED_TERMS: 'forbidden, secret plan ,c++', LLM_MAX_PROMPT_CHARS: '200' });

  it.each([['This is FORBIDDEN.'], ['our Secret   Plan'], ['learn c++ today'], ['ﬁne but forbidden']])('rejects %p', (text) => {
    const error = rejection(() => service.check([text]));
    expect(error).toBeInstanceOf(AppException);
    expect(error).toMatchObject({ code: 'CONTENT_REJECTED', details: { reason: 'banned_term' } });
    expect(error!.getStatus()).toBe(422);
    expect(error!.message).not.toMatch(/forbidden|secret|c\+\+/i);
  });

  it.each([['unforbiddenly fine'], ['secretive planning'], ['plain text']])('accepts %p (whole words only)', (text) => {
    expect(rejection(() => service.check([text]))).toBeUndefined();
  });

  it('counts every text of a request against the size limit', () => {
    expect(rejection(() => service.check(['a'.repeat(100), 'b'.repeat(100)]))).toBeUndefined();
    expect(rejection(() => service.check(['a'.repeat(100), 'b'.repeat(101)]))).toMatchObject({
      code: 'CONTENT_REJECTED',
      details: { reason: 'too_long', length: 201, limit: 200 },
    });
  });

  it('accepts everything within the limit when no terms are configured', () => {
    expect(rejection(() => moderation({}).check(['forbidden']))).toBeUndefined();
  });
});
