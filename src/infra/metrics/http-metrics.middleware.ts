import type { NextFunction, Request, Response } from 'express';
import { CLIENT_CLOSED_STATUS, Metrics, UNMATCHED_ROUTE } from './metrics';

/** What Nest's @Get/@Post… leave on a controller method, and Nest copies onto the Express handler it registers. */
const NEST_ROUTE_METADATA = 'method';

interface ExpressRoute {
  path?: unknown;
  stack?: Array<{ handle?: unknown }>;
}

function isNestHandler(route: ExpressRoute): boolean {
  return (route.stack ?? []).some((layer) => typeof layer.handle === 'function' && Reflect.hasMetadata(NEST_ROUTE_METADATA, layer.handle));
}

/**
 * The route template a request matched (`/api/threads/:threadId`), or UNMATCHED_ROUTE for
 * requests no route took (404s, refusals by middleware before routing). Never the raw URL:
 * ids in it would make a label value per request.
 *
 * `req.route` is the last route Express dispatched to. Nest mounts its route-scoped
 * middleware as catch-all routes too (`/api{/*splat}`, `/v1/{*path}`), so a request that
 * went through one and then matched no controller still has it: a wildcard route counts
 * only when it is a controller's own.
 */
export function routeTemplate(req: Request): string {
  const route = req.route as ExpressRoute | undefined;
  if (!route || typeof route.path !== 'string') return UNMATCHED_ROUTE;
  if (route.path.includes('*') && !isNestHandler(route)) return UNMATCHED_ROUTE;
  return `${req.baseUrl ?? ''}${route.path}` || '/';
}

/**
 * Express middleware, first in the chain, so it sees every request: those answered by a
 * handler, refused by a guard, a middleware or the body parser, and 404s. It records when
 * the response has finished (for SSE, at the end of the stream), or when the connection
 * closed first (a client that left: the status sent, or 499 when none was).
 */
export function httpMetricsMiddleware(metrics: Metrics): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      const status = res.writableFinished || res.headersSent ? res.statusCode : CLIENT_CLOSED_STATUS;
      try {
        metrics.observeHttpRequest(req.method, routeTemplate(req), status, Number(process.hrtime.bigint() - started) / 1e9);
      } catch {
        // Metrics never break a response.
      }
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
