import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppConfig } from '../../config/app.config';
import { redactSecrets, redactUrl } from './redact';

/** Probe paths: frequent and boring, so logged at debug unless they fail. */
const PROBES = new Set(['/healthz', '/api/health/live', '/api/health/ready']);

type Req = IncomingMessage & { originalUrl?: string };

function pathOf(req: Req): string {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * nestjs-pino options: one JSON line per event in production, pretty lines in
 * development, `request:start` / `request:end` with duration and status, the request id
 * on every line, and secrets redacted wherever they appear.
 */
export function loggerOptions(config: AppConfig, destination?: DestinationStream): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      ...(config.logPretty && !destination
        ? { transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
        : {}),
      ...(destination ? { stream: destination } : {}),
      // The id is set by requestIdMiddleware, which runs first.
      genReqId: (req: Req) => req.id ?? '',
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
      customLogLevel: (req: Req, res: ServerResponse, err?: Error) => {
        const failed = Boolean(err) || res.statusCode >= 500;
        if (PROBES.has(pathOf(req))) return failed ? 'warn' : 'debug';
        // A 503 is an expected state (outage, drain), already logged once by the filter.
        if (res.statusCode === 503) return 'warn';
        return failed ? 'error' : 'info';
      },
      customReceivedMessage: () => 'request:start',
      customReceivedObject: (req: Req) => ({ req }),
      customSuccessMessage: () => 'request:end',
      customSuccessObject: (req: Req, res: ServerResponse, value: Record<string, unknown>) => ({ ...value, req }),
      customErrorMessage: () => 'request:end',
      customErrorObject: (req: Req, res: ServerResponse, err: Error, value: Record<string, unknown>) => ({ ...value, req }),
      serializers: {
        // Only what helps debugging; headers (cookies, authorization) are left out entirely.
        req: (req: Req) => ({
          method: req.method,
          url: redactUrl(req.originalUrl ?? req.url ?? ''),
          remoteAddress: req.socket?.remoteAddress,
          userAgent: req.headers?.['user-agent'],
        }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'headers.authorization', 'headers.cookie'],
        censor: '[Redacted]',
      },
      formatters: {
        log: (object: Record<string, unknown>) => redactSecrets(object),
      },
    },
  };
}
