import type { CookieOptions, Request, Response } from 'express';
import { ACCESS_COOKIE } from '../../common/openapi/openapi';
import { AppConfig } from '../../config/app.config';
import type { Session } from './auth.service';

export { ACCESS_COOKIE };
export const REFRESH_COOKIE = 'refresh_token';
/** The refresh token is only ever sent to the refresh endpoint. */
export const REFRESH_COOKIE_PATH = '/api/refresh';

function base(config: AppConfig): CookieOptions {
  return { httpOnly: true, secure: config.isProduction, sameSite: 'lax' };
}

export function setSessionCookies(res: Response, session: Session, config: AppConfig): void {
  const refreshMaxAge = session.refreshExpiresAt.getTime() - Date.now();
  // The JWT inside expires after 15 minutes; the cookie outlives it so logout can still
  // name the session of an expired token.
  res.cookie(ACCESS_COOKIE, session.accessToken, { ...base(config), path: '/', maxAge: refreshMaxAge });
  res.cookie(REFRESH_COOKIE, session.refreshToken, { ...base(config), path: REFRESH_COOKIE_PATH, maxAge: refreshMaxAge });
}

export function clearSessionCookies(res: Response, config: AppConfig): void {
  res.clearCookie(ACCESS_COOKIE, { ...base(config), path: '/' });
  res.clearCookie(REFRESH_COOKIE, { ...base(config), path: REFRESH_COOKIE_PATH });
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
