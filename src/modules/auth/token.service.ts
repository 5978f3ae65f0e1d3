import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../../common/decorators/current-user.decorator';
import { AppConfig } from '../../config/app.config';

export interface AccessClaims {
  sub: string;
  username: string;
  role: Role;
  scope: string[];
  /** Refresh-token family this access token belongs to. */
  sid: string;
  iat?: number;
  exp?: number;
}

export const API_TOKEN_PREFIX = 'pk_';
/** Access tokens are HS256 only: `none` and every other algorithm are refused. */
export const ACCESS_ALGORITHMS = ['HS256'] as const;

/** The claims every access token must carry (a valid signature is not enough). */
export function isAccessClaims(claims: unknown): claims is AccessClaims {
  const c = claims as Partial<AccessClaims> | null;
  return typeof c === 'object' && c !== null && typeof c.sub === 'string' && typeof c.sid === 'string';
}

/** sha256 hex: the stored form of high-entropy tokens (refresh and personal tokens). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Key id of an HMAC secret: lets verification pick the right one while secrets rotate. */
function keyId(secret: string): string {
  return createHash('sha256').update(secret).digest('hex').slice(0, 12);
}

@Injectable()
export class TokenService {
  private readonly signing: { kid: string; secret: string };
  private readonly verifying: Map<string, string>;

  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
  ) {
    this.signing = { kid: keyId(config.jwtSecret), secret: config.jwtSecret };
    this.verifying = new Map([[this.signing.kid, this.signing.secret]]);
    if (config.JWT_SECRET_PREVIOUS) this.verifying.set(keyId(config.JWT_SECRET_PREVIOUS), config.JWT_SECRET_PREVIOUS);
  }

  get accessTtlSeconds(): number {
    return this.config.ACCESS_TOKEN_TTL_SECONDS;
  }

  signAccess(claims: Omit<AccessClaims, 'iat' | 'exp'>): string {
    return this.jwt.sign(claims, {
      secret: this.signing.secret,
      algorithm: ACCESS_ALGORITHMS[0],
      keyid: this.signing.kid,
      expiresIn: this.accessTtlSeconds,
      jwtid: randomUUID(),
    });
  }

  /**
   * Claims of a valid access token, or null. `ignoreExpiration` only serves logout, which
   * must still find the session of an expired token to end it.
   */
  verifyAccess(token: string, options: { ignoreExpiration?: boolean } = {}): AccessClaims | null {
    try {
      const secret = this.secretFor(token);
      if (!secret) return null;
      const claims = this.jwt.verify<AccessClaims>(token, { secret, algorithms: [...ACCESS_ALGORITHMS], ignoreExpiration: options.ignoreExpiration });
      return isAccessClaims(claims) ? claims : null;
    } catch {
      return null;
    }
  }

  /**
   * The secret an access token names by its key id: the current one, or the previous one
   * while secrets rotate; undefined for any other token. The JWT strategy verifies with it.
   */
  secretFor(token: string): string | undefined {
    try {
      const decoded = this.jwt.decode<{ header?: { kid?: unknown } } | null>(token, { complete: true });
      const kid = decoded?.header?.kid;
      return typeof kid === 'string' ? this.verifying.get(kid) : undefined;
    } catch {
      return undefined;
    }
  }

  /** 256 random bits, URL-safe. */
  randomToken(prefix = ''): string {
    return prefix + randomBytes(32).toString('base64url');
  }
}
