import { REDACTED, redactSecrets, redactUrl } from './redact';

describe('redactSecrets', () => {
  it('replaces secret-looking keys at any depth and leaves the rest', () => {
    const input = {
      user: 'alice',
      password: 'p',
      nested: { apiKey: 'k', api_key: 'k', list: [{ refreshToken: 't', keep: 1 }] },
      headers: { authorization: 'Bearer x', cookie: 'c', 'set-cookie': ['s'] },
    };
    expect(redactSecrets(input)).toEqual({
      user: 'alice',
      password: REDACTED,
      nested: { apiKey: REDACTED, api_key: REDACTED, list: [{ refreshToken: REDACTED, keep: 1 }] },
      headers: { authorization: REDACTED, cookie: REDACTED, 'set-cookie': REDACTED },
    });
  });

  it('does not mutate its input nor walk class instances', () => {
    const error = Object.assign(new Error('boom'), { token: 'kept-for-the-error-serializer' });
    const input = { password: 'p', error };
    const output = redactSecrets(input);
    expect(input.password).toBe('p');
    expect(output.error).toBe(error);
  });
});

describe('redactUrl', () => {
  it('masks secret query parameters only', () => {
    expect(redactUrl('/a?token=abc&page=2')).toBe('/a?token=%5BRedacted%5D&page=2');
    expect(redactUrl('/a/b')).toBe('/a/b');
  });

  it('masks what users write: prompts, system prompts and search terms, every occurrence', () => {
    const url = redactUrl('/api/llm/stream?prompt=my+secret+plan&system=be+evil&model=parley-demo&q=x&q=y&Search=z');
    expect(url).not.toMatch(/secret|evil|=x|=y|=z/);
    expect(url).toContain('model=parley-demo');
    expect(new URLSearchParams(url.split('?')[1]).getAll('q')).toEqual(['[Redacted]']);
  });
});
