import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { requestIdMiddleware } from '../http/request-id';
import { installProcessGuards, unhandledRejectionLogger } from './process-guards';

function fakeLogger() {
  const errors: unknown[] = [];
  return { errors, logger: { error: (entry: unknown) => errors.push(entry) } as unknown as Logger };
}

describe('process guards', () => {
  it('log a stray rejection with the id of the request that started the work, even after the handler returned', async () => {
    const { errors, logger } = fakeLogger();
    const onRejection = unhandledRejectionLogger(logger);
    const req = { headers: { 'x-request-id': 'req-guard-1' } } as unknown as Request;
    const res = { setHeader: () => undefined } as unknown as Response;
    await new Promise<void>((resolve) => {
      requestIdMiddleware(req, res, (() => setTimeout(() => (onRejection(new Error('stray')), resolve()), 1)) as NextFunction);
    });
    expect(errors).toEqual([{ err: new Error('stray'), requestId: 'req-guard-1' }]);
  });

  it('replace Node’s exit on an unhandled rejection with that log, until uninstalled', () => {
    const before = process.listenerCount('unhandledRejection');
    const uninstall = installProcessGuards(fakeLogger().logger);
    expect(process.listenerCount('unhandledRejection')).toBe(before + 1);
    uninstall();
    expect(process.listenerCount('unhandledRejection')).toBe(before);
  });
});
