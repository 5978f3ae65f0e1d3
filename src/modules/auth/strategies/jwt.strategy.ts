import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { JwtFromRequestFunction, Strategy } from 'passport-jwt';
import type { AuthUser } from '../../../common/decorators/current-user.decorator';
import { TOKEN_SCOPES } from '../../../common/decorators/scopes.decorator';
import { CredentialCache } from '../../../infra/cache/credential-cache';
import { credentialOf } from '../auth.cookies';
import { CredentialsRepository } from '../credentials.repository';
import { ACCESS_ALGORITHMS, API_TOKEN_PREFIX, isAccessClaims, TokenService } from '../token.service';
import { UsersRepository } from '../users.repository';

export const JWT_STRATEGY = 'jwt';

/**
 * The session's access JWT: `Authorization: Bearer …` when the header is present (a
 * malformed header does not fall back to the cookie), else the `access_token` cookie.
 * A personal token is left to the personal-token strategy.
 */
export const sessionJwtOf: JwtFromRequestFunction = (req: Request) => {
  const credential = credentialOf(req);
  return credential && !credential.startsWith(API_TOKEN_PREFIX) ? credential : null;
};

/**
 * Signed-in sessions: an HS256 access JWT signed with JWT_SECRET, or with
 * JWT_SECRET_PREVIOUS while secrets rotate (the token's key id picks the secret, as
 * TokenService does). A valid signature is not enough: the user must still exist and be
 * enabled, and the session (refresh-token family) must not have ended, so logout, password
 * changes, disabling and refresh-token reuse take effect at once, not after 15 minutes.
 * What those two reads found is kept in the credential cache, which every one of those
 * changes empties for the user (on every pod).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, JWT_STRATEGY) {
  constructor(
    tokens: TokenService,
    private readonly users: UsersRepository,
    private readonly credentials: CredentialsRepository,
    private readonly cache: CredentialCache,
  ) {
    super({
      jwtFromRequest: sessionJwtOf,
      secretOrKeyProvider: (_req: Request, rawJwt: string, done: (err: unknown, secret?: string) => void) => {
        const secret = tokens.secretFor(rawJwt);
        if (secret) done(null, secret);
        else done(new Error('access token signed with an unknown key'));
      },
      algorithms: [...ACCESS_ALGORITHMS],
      ignoreExpiration: false,
    });
  }

  async validate(claims: unknown): Promise<AuthUser | false> {
    if (!isAccessClaims(claims)) return false;
    const user = await this.cache.get('session', claims.sid, async () => {
      const [found, active] = await Promise.all([this.users.findById(claims.sub), this.credentials.isSessionActive(claims.sid)]);
      if (!found || found.disabledAt || !active) return undefined;
      return { userId: found.id, value: { id: found.id, username: found.username, role: found.role } };
    });
    if (!user || user.id !== claims.sub) return false;
    return { ...user, via: 'session', sessionId: claims.sid, scopes: TOKEN_SCOPES };
  }
}
