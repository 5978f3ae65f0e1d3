import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-http-bearer';
import type { AuthUser } from '../../../common/decorators/current-user.decorator';
import { TOKEN_SCOPES, TokenScope } from '../../../common/decorators/scopes.decorator';
import { credentialOf } from '../auth.cookies';
import { CredentialCache } from '../../../infra/cache/credential-cache';
import { CredentialsRepository } from '../credentials.repository';
import { API_TOKEN_PREFIX, hashToken } from '../token.service';

export const PERSONAL_TOKEN_STRATEGY = 'personal-token';

/** A minute's precision is plenty for the `lastUsedAt` users see, and spares a write per request. */
const LAST_USED_PRECISION_MS = 60_000;

const isTokenScope = (s: string): s is TokenScope => (TOKEN_SCOPES as readonly string[]).includes(s);

/** A `pk_…` in the `Authorization: Bearer` header (read as credentialOf reads it); never the cookie. */
function personalTokenOf(req: Request): string | undefined {
  const credential = req.headers.authorization ? credentialOf(req) : undefined;
  return credential?.startsWith(API_TOKEN_PREFIX) ? credential : undefined;
}

/**
 * Personal API tokens (`pk_…`, stored as sha256) sent as `Authorization: Bearer`. Refused
 * once expired or revoked, or when the owner is disabled; the caller gets the token's scopes.
 */
@Injectable()
export class PersonalTokenStrategy extends PassportStrategy(Strategy, PERSONAL_TOKEN_STRATEGY) {
  constructor(
    private readonly credentials: CredentialsRepository,
    private readonly cache: CredentialCache,
  ) {
    super();
  }

  /**
   * passport-http-bearer also takes `access_token` from the body and the query string;
   * a token must not travel in URLs (logs, referrers) nor in bodies, so it sees the header only.
   */
  override authenticate(req: Request, options?: object): void {
    const token = personalTokenOf(req);
    const headerOnly = { headers: token ? { authorization: `Bearer ${token}` } : {} } as Request;
    super.authenticate(headerOnly, options);
  }

  async validate(token: string): Promise<AuthUser | false> {
    const tokenHash = hashToken(token);
    const stored = await this.cache.get('token', tokenHash, async () => {
      const row = await this.credentials.findApiToken(tokenHash);
      return row ? { userId: row.userId, value: row } : undefined;
    });
    if (!stored || stored.revokedAt || (stored.expiresAt && stored.expiresAt <= new Date())) return false;
    const { user } = stored;
    if (user.disabledAt) return false;
    if (!stored.lastUsedAt || Date.now() - stored.lastUsedAt.getTime() > LAST_USED_PRECISION_MS) {
      stored.lastUsedAt = new Date();
      await this.credentials.touchApiToken(stored.id);
    }
    return { id: user.id, username: user.username, role: user.role, via: 'token', tokenId: stored.id, scopes: stored.scopes.filter(isTokenScope) };
  }
}
