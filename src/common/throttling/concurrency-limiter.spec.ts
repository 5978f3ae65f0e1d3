import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import type { AuthUser } from '../decorators/current-user.decorator';
import { AppException } from '../errors/app.exception';
import { AppConfig } from '../../config/app.config';
import { ConcurrencyCounter, ConcurrencyLimiter } from './concurrency-limiter';

function fakeResponse(): Response & { emit: EventEmitter['emit'] } {
  const res = new EventEmitter() as unknown as Response & { emit: EventEmitter['emit']; headers: Record<string, unknown> };
  res.headers = {};
  Object.assign(res, { destroyed: false, setHeader: (name: string, value: unknown) => (res.headers[name] = value) });
  return res;
}

describe('ConcurrencyCounter', () => {
  it('takes a slot of every cap or none', () => {
    const counter = new ConcurrencyCounter();
    const a = { key: 'a', limit: 2, label: 'a' };
    const b = { key: 'b', limit: 1, label: 'b' };
    const first = counter.tryAcquire([a, b]);
    expect('release' in first).toBe(true);
    expect(counter.tryAcquire([a, b])).toEqual({ full: b });
    // The refused attempt took nothing from `a`.
    expect(counter.inUse('a')).toBe(1);
    expect('release' in counter.tryAcquire([a])).toBe(true);
    expect(counter.tryAcquire([a])).toEqual({ full: a });
  });

  it('gives slots back once, however often release is called', () => {
    const counter = new ConcurrencyCounter();
    const cap = { key: 'k', limit: 1, label: 'k' };
    const taken = counter.tryAcquire([cap]) as { release: () => void };
    taken.release();
    taken.release();
    expect(counter.inUse('k')).toBe(0);
    const again = counter.tryAcquire([cap]);
    expect('release' in again).toBe(true);
    expect(counter.inUse('k')).toBe(1);
  });
});

describe('ConcurrencyLimiter', () => {
  const config = { MAX_SSE_STREAMS_PER_USER: 2, MAX_CONCURRENT_CALLS_PER_USER: 3, MAX_CONCURRENT_CALLS_PER_TOKEN: 1 } as AppConfig;
  const user: AuthUser = { id: 'u1', username: 'u1@example.com', role: 'user', via: 'session' };
  const viaToken = (tokenId: string): AuthUser => ({ ...user, via: 'token', tokenId });
  let limiter: ConcurrencyLimiter;
  beforeEach(() => (limiter = new ConcurrencyLimiter(config)));

  it('refuses the stream past the per-user cap with 429 RATE_LIMITED and Retry-After, until one closes', () => {
    const open = [fakeResponse(), fakeResponse()];
    open.forEach((res) => limiter.holdStream(user, res));
    const refused = fakeResponse() as ReturnType<typeof fakeResponse> & { headers: Record<string, unknown> };
    let error: unknown;
    try {
      limiter.holdStream(user, refused);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppException);
    expect((error as AppException).getStatus()).toBe(429);
    expect((error as AppException).code).toBe('RATE_LIMITED');
    expect(refused.headers['Retry-After']).toBe(1);
    // Another user is not affected.
    expect(() => limiter.holdStream({ ...user, id: 'u2' }, fakeResponse())).not.toThrow();

    open[0].emit('close');
    expect(() => limiter.holdStream(user, fakeResponse())).not.toThrow();
  });

  it('caps calls per token and per user; a streamed call also counts as a stream', () => {
    limiter.holdCall(viaToken('t1'), fakeResponse());
    expect(() => limiter.holdCall(viaToken('t1'), fakeResponse())).toThrow(/per API token/);
    limiter.holdCall(viaToken('t2'), fakeResponse());
    limiter.holdCall(user, fakeResponse(), { stream: true });
    expect(() => limiter.holdCall(viaToken('t3'), fakeResponse())).toThrow(/per user/);
    expect(limiter.counter.inUse('sse:user:u1')).toBe(1);
  });

  it('gives the slot back at once when the response is already gone', () => {
    const gone = fakeResponse();
    Object.assign(gone, { destroyed: true });
    limiter.holdStream(user, gone);
    expect(limiter.counter.inUse('sse:user:u1')).toBe(0);
  });
});
