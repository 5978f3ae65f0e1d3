import { isRetryable, translateProviderError } from './model-errors';

const withStatus = (status: number, message = 'upstream said no') => Object.assign(new Error(message), { status });

describe('provider errors', () => {
  it.each([
    [withStatus(401), 'PROVIDER_AUTH_FAILED', 422],
    [withStatus(403), 'PROVIDER_AUTH_FAILED', 422],
    [withStatus(429), 'PROVIDER_RATE_LIMITED', 429],
    [withStatus(500), 'PROVIDER_UNAVAILABLE', 502],
    [Object.assign(new Error('x'), { status_code: 503 }), 'PROVIDER_UNAVAILABLE', 502],
    [withStatus(404), 'MODEL_NOT_FOUND', 404],
    [withStatus(400, 'prompt is too long: 250000 tokens > 200000 maximum'), 'CONTEXT_TOO_LONG', 422],
    [withStatus(400, 'temperature must be at most 1'), 'PROVIDER_ERROR', 502],
    [new TypeError('fetch failed'), 'PROVIDER_UNAVAILABLE', 502],
    [Object.assign(new Error('t'), { name: 'TimeoutError' }), 'PROVIDER_TIMEOUT', 504],
  ])('translates %p to %s', (error, code, status) => {
    const translated = translateProviderError(error, 'openai');
    expect(translated.code).toBe(code);
    expect(translated.getStatus()).toBe(status);
  });

  it('keeps the upstream message only for client-side causes, never for auth failures', () => {
    expect(translateProviderError(withStatus(401, 'key sk-abc is invalid'), 'openai').details).toEqual({ provider: 'openai', upstreamStatus: 401 });
    expect(translateProviderError(withStatus(400, 'bad temperature'), 'openai').details).toMatchObject({ upstreamMessage: 'bad temperature' });
  });

  it('retries rate limits, server and connection errors only', () => {
    expect(isRetryable(withStatus(429))).toBe(true);
    expect(isRetryable(withStatus(502))).toBe(true);
    expect(isRetryable(new TypeError('fetch failed'))).toBe(true);
    expect(isRetryable(withStatus(400))).toBe(false);
    expect(isRetryable(withStatus(401))).toBe(false);
    expect(isRetryable(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(false);
  });
});
