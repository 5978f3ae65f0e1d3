import type { CookieOptions, Request, Response } from 'express';
import { ACCESS_COOKIE } from '../../common/openapi/openapi';
import { AppConfig } from '../../config/app.config';
import type { Session } from './auth.service';

export { ACCESS_COOKIE };
export const REFRESH_COOKIE = 'refresh_token';
/** The refresh token is only ever sent to the refresh endpoint, and to logout (below). */
export const REFRESH_COOKIE_PATH = '/api/refresh';
/**
 * A second copy of the refresh cookie, sent to logout only: the access cookie dies with its
 * JWT, so after 15 idle minutes the browser sends logout no access token, and the refresh
 * token is what names the session to end.
 */
export const LOGOUT_COOKIE_PATH = '/api/logout';

function base(config: AppConfig): CookieOptions {
  return { httpOnly: true, secure: config.isProduction, sameSite: 'lax' };
}

export function setSessionCookies(res: Response, session: Session, config: AppConfig): void {
  const refreshMaxAge = session.refreshExpiresAt.getTime() - Date.now();
  // The access cookie lives exactly as long as the JWT inside it: a browser never keeps
  // (or sends) a dead credential.
  res.cookie(ACCESS_COOKIE, session.accessToken, { ...base(config), path: '/', maxAge: session.expiresIn * 1000 });
  for (const path of [REFRESH_COOKIE_PATH, LOGOUT_COOKIE_PATH]) {
    res.cookie(REFRESH_COOKIE, session.refreshToken, { ...base(config), path, maxAge: refreshMaxAge });
  }
}

export function clearSessionCookies(res: Response, config: AppConfig): void {
  res.clearCookie(ACCESS_COOKIE, { ...base(config), path: '/' });
  for (const path of [REFRESH_COOKIE_PATH, LOGOUT_COOKIE_PATH]) res.clearCookie(REFRESH_COOKIE, { ...base(config), path });
}

/** Access credential of a request: `Authorization: Bearer …` first, then the cookie. */
export function credentialOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  const cookie = (req.cookies as Record<string, unknown> | undefined)?.[ACCESS_COOKIE];
  return typeof cookie === 'string' && cookie ? cookie : undefined;
}

export function refreshCookieOf(req: Request): string | undefined {
  const cookie = (req.cookies as Record<string, unknown> | undefined)?.[REFRESH_COOKIE];
  return typeof cookie === 'string' && cookie ? cookie : undefined;
}
