import { Controller, Get, Headers, HttpStatus, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Response } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Public } from '../../common/decorators/public.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { RawResponse } from '../../common/http/envelope';
import { AppConfig } from '../../config/app.config';
import { Metrics } from './metrics';

/** Compares in constant time whatever the lengths (both sides are hashed to 32 bytes first). */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * GET /metrics (outside the /api prefix): Prometheus text for the scraper. Not a user
 * route: no session (it has its own optional METRICS_TOKEN), never rate limited (a scraper
 * comes every few seconds), not in the OpenAPI document.
 */
@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  @Public()
  @SkipThrottle()
  @RawResponse()
  @Get('metrics')
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: Response): Promise<void> {
    const token = this.config.METRICS_TOKEN;
    if (token) {
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
      if (!match || !sameSecret(match[1], token)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
        throw new AppException(ErrorCode.UNAUTHORIZED, 'A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)', HttpStatus.UNAUTHORIZED);
      }
    }
    const body = await this.metrics.scrape();
    res.status(HttpStatus.OK);
    res.setHeader('Content-Type', this.metrics.contentType);
    res.setHeader('Cache-Control', 'no-store');
    // A Buffer, so Express keeps the content type exactly as prom-client gives it.
    res.send(Buffer.from(body, 'utf8'));
  }
}
