import { HttpStatus, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { AppException } from '../errors/app.exception';
import { ErrorCode } from '../errors/error-codes';
import { requestIdOf } from './request-id';

/** Methods that change state: always checked. */
const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * GET routes that act (a billed provider call) and so are checked like a POST; HEAD too,
 * since Express answers HEAD with the GET handler. Paths as the router matches them:
 * lower case, without a trailing slash.
 */
export const CSRF_CHECKED_GET_PATHS: ReadonlySet<string> = new Set(['/api/llm/stream']);

export type CsrfReason =
  | 'not-checked'
  | 'bearer'
  | 'own-origin'
  | 'trusted-origin'
  | 'same-origin-fetch'
  | 'no-browser-headers'
  | 'foreign-origin'
  | 'cross-site-fetch';

export interface CsrfInput {
  method: string;
  /** Request path without the query string. */
  path: string;
  origin?: string;
  secFetchSite?: string;
  /** The request carries an Authorization header (a bearer JWT or pk_ token). */
  hasAuthorization: boolean;
  /** This server's origin as the client addressed it (scheme and host, forwarded ones behind a trusted proxy). */
  ownOrigin?: string;
}

export interface CsrfDecision {
  allowed: boolean;
  reason: CsrfReason;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * `scheme://host[:port]` as browsers serialize an Origin header (lower case, default port
 * dropped), or undefined for `null`, several values, a path or anything that is not one.
 */
export function normalizeOrigin(value: string | undefined): string | undefined {
  if (!value || !/^[a-z][a-z0-9+.-]*:\/\/[^/?#\\,\s]+\/?$/i.test(value.trim())) return undefined;
  try {
    const url = new URL(value.trim());
    if (!url.host || url.username || url.password || !DEFAULT_PORTS[url.protocol]) return undefined;
    return `${url.protocol}//${url.host}`;
  } catch {
    return undefined;
  }
}

function isChecked(method: string, path: string): boolean {
  if (UNSAFE_METHODS.has(method)) return true;
  if (method !== 'GET' && method !== 'HEAD') return false;
  const normalized = path.toLowerCase().replace(/\/+$/, '') || '/';
  return CSRF_CHECKED_GET_PATHS.has(normalized);
}

/**
 * Whether a request may go on, given only what a browser cannot be made to forge:
 *
 * 1. Safe requests (GET/HEAD/OPTIONS, except CSRF_CHECKED_GET_PATHS) pass.
 * 2. A request with an Authorization header passes: a page can only send one from its own
 *    origin or, after a CORS preflight, from an allowed one, and the header (not a cookie)
 *    is then the credential.
 * 3. An Origin header must be this server's own origin or a trusted one (CORS_ORIGINS);
 *    `null`, malformed or any other origin is refused, sibling subdomains included.
 * 4. `Sec-Fetch-Site` other than `same-origin` or `none` (a typed URL, a bookmark) is refused
 *    unless the Origin is trusted: `cross-site`, and `same-site` too (a sibling subdomain;
 *    a top-level navigation sends no Origin, so it cannot be told apart from an attack).
 * 5. Without either header (curl, SDKs, servers) the request passes: no browser, no ambient
 *    cookie to abuse.
 *
 * Cookies are not looked at: an unauthenticated browser request from a foreign origin is
 * refused as well, which is what stops login CSRF (signing the victim into the attacker's
 * account) on POST /api/login, /api/register and /api/refresh.
 */
export function csrfDecision(input: CsrfInput, trustedOrigins: ReadonlySet<string>): CsrfDecision {
  if (!isChecked(input.method.toUpperCase(), input.path)) return { allowed: true, reason: 'not-checked' };
  if (input.hasAuthorization) return { allowed: true, reason: 'bearer' };

  let trusted = false;
  if (input.origin !== undefined) {
    const origin = normalizeOrigin(input.origin);
    trusted = origin !== undefined && trustedOrigins.has(origin);
    const own = origin !== undefined && origin === normalizeOrigin(input.ownOrigin);
    if (!trusted && !own) return { allowed: false, reason: 'foreign-origin' };
  }
  const site = input.secFetchSite?.trim().toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none' && !trusted) {
    return { allowed: false, reason: 'cross-site-fetch' };
  }
  if (trusted) return { allowed: true, reason: 'trusted-origin' };
  if (input.origin !== undefined) return { allowed: true, reason: 'own-origin' };
  return { allowed: true, reason: site ? 'same-origin-fetch' : 'no-browser-headers' };
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  // Repeated headers are joined, so they never equal an origin or `same-origin` (fails closed).
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The origin the client addressed, from Express (X-Forwarded-Proto/-Host only behind a trusted proxy). */
function ownOriginOf(req: Request): string | undefined {
  try {
    return req.host ? `${req.protocol}://${req.host}` : undefined;
  } catch {
    return undefined;
  }
}

export interface CsrfOptions {
  /** Origins besides the server's own whose pages may act with the session (CORS_ORIGINS). */
  trustedOrigins: string[];
}

/**
 * Express middleware applying csrfDecision to every request, /v1 and unknown routes
 * included, before the body is parsed or anyone is authenticated. A refusal is a 403
 * CSRF_REJECTED through the exception filter (OpenAI's format on /v1) and one warning line,
 * which is the request's only log line (pino-http has not seen it yet).
 */
export function csrfProtection(options: CsrfOptions): (req: Request, res: Response, next: NextFunction) => void {
  const trusted = new Set(options.trustedOrigins.map(normalizeOrigin).filter((o): o is string => Boolean(o)));
  const logger = new Logger('Csrf');
  return (req, _res, next) => {
    const origin = header(req, 'origin');
    const secFetchSite = header(req, 'sec-fetch-site');
    const decision = csrfDecision(
      { method: req.method, path: req.path, origin, secFetchSite, hasAuthorization: Boolean(req.headers.authorization), ownOrigin: ownOriginOf(req) },
      trusted,
    );
    if (decision.allowed) return next();
    logger.warn(
      { requestId: requestIdOf(req), req, statusCode: HttpStatus.FORBIDDEN, origin, secFetchSite, reason: decision.reason },
      `${ErrorCode.CSRF_REJECTED}: ${req.method} from ${origin ?? `Sec-Fetch-Site ${secFetchSite}`}`,
    );
    next(
      new AppException(
        ErrorCode.CSRF_REJECTED,
        'Cross-site request refused: a browser page from another origin cannot act with this session',
        HttpStatus.FORBIDDEN,
        { reason: decision.reason },
      ),
    );
  };
}
