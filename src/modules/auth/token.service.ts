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
      algorithm: 'HS256',
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
      const decoded = this.jwt.decode<{ header?: { kid?: string } } | null>(token, { complete: true });
      const secret = decoded?.header?.kid ? this.verifying.get(decoded.header.kid) : undefined;
      if (!secret) return null;
      const claims = this.jwt.verify<AccessClaims>(token, { secret, algorithms: ['HS256'], ignoreExpiration: options.ignoreExpiration });
      return typeof claims.sub === 'string' && typeof claims.sid === 'string' ? claims : null;
    } catch {
      return null;
    }
  }

  /** 256 random bits, URL-safe. */
  randomToken(prefix = ''): string {
    return prefix + randomBytes(32).toString('base64url');
  }
}
