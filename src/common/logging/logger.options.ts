import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { AppConfig } from '../../config/app.config';
import { takeRequestLogFields } from '../http/request-id';
import { redactSecrets, redactUrl } from './redact';

/** Probe paths: frequent and boring, so logged at debug unless they fail. */
const PROBES = new Set(['/healthz', '/api/health/live', '/api/health/ready', '/metrics']);

type Req = IncomingMessage & { originalUrl?: string };

function pathOf(req: Req): string {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** Responses already logged: pino-http may be mounted twice on a route (see loggerOptions). */
const logged = new WeakSet<ServerResponse>();

/**
 * nestjs-pino options: one JSON line per event in production, pretty lines in
 * development, the request id on every line, and secrets redacted wherever they appear.
 *
 * Each request is logged once, when it ends (`request:end` with method, URL, status and
 * duration); there is no `request:start` line. The URL keeps its query's names but not the
 * values of credentials, prompts or search terms (redactUrl). A model call adds a `modelCall`
 * object to its request's line (sizes, tokens, outcome; never text): one line per request.
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
        // nestjs-pino mounts its middleware for the routes excluded from the global prefix
        // (/v1, /healthz) while Nest also runs it there for the catch-all: the second
        // mount's line is dropped, so a request has one line whatever the routing.
        if (logged.has(res)) return 'silent';
        logged.add(res);
        const failed = Boolean(err) || res.statusCode >= 500;
        if (PROBES.has(pathOf(req))) return failed ? 'warn' : 'debug';
        // A 503 is an expected state (outage, drain), already logged once by the filter.
        if (res.statusCode === 503) return 'warn';
        return failed ? 'error' : 'info';
      },
      // `req` is bound to the response logger already: adding it here too wrote the key twice.
      customSuccessMessage: () => 'request:end',
      customErrorMessage: () => 'request:end',
      customSuccessObject: (req: Req, _res: ServerResponse, value: Record<string, unknown>) => ({ ...value, ...takeRequestLogFields(req) }),
      customErrorObject: (req: Req, _res: ServerResponse, _error: Error, value: Record<string, unknown>) => ({ ...value, ...takeRequestLogFields(req) }),
      serializers: {
        // Only what helps debugging; headers (cookies, authorization) are left out entirely.
        // pino-http hands over pino-std-serializers' copy of the request, the original in `raw`.
        req: (req: Req & { raw?: Req & { ip?: string }; remoteAddress?: string }) => {
          const raw: Req & { ip?: string } = req.raw ?? req;
          return {
            method: req.method,
            url: redactUrl(raw.originalUrl ?? req.url ?? ''),
            // The client as TRUST_PROXY lets Express see it, and the peer that connected.
            ip: raw.ip,
            remoteAddress: req.remoteAddress ?? raw.socket?.remoteAddress,
            userAgent: raw.headers?.['user-agent'],
          };
        },
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
