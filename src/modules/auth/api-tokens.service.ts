import { HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { TOKEN_SCOPES, TokenScope } from '../../common/decorators/scopes.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { ApiToken } from '../../infra/database/generated/client';
import { AuditAction, AuditService } from '../audit/audit.service';
import { CredentialsRepository } from './credentials.repository';
import { API_TOKEN_PREFIX, hashToken, TokenService } from './token.service';
import { CredentialCache } from '../../infra/cache/credential-cache';

/** Characters of a token shown in lists: `pk_` plus 8 of its random part. */
const SHOWN_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 8;
const DAY_MS = 86_400_000;

export interface NewApiToken {
  name: string;
  /** Default: every scope. */
  scopes?: TokenScope[];
  /** Default: API_TOKEN_DEFAULT_TTL_DAYS. */
  expiresInDays?: number;
}

/** A stored token's scopes, known ones only, in TOKEN_SCOPES order. */
export function scopesOf(token: Pick<ApiToken, 'scopes'>): TokenScope[] {
  return TOKEN_SCOPES.filter((s) => token.scopes.includes(s));
}

/** Personal API tokens (pk_…) for programs: shown once, stored as sha256, scoped, always expiring. */
@Injectable()
export class ApiTokensService {
  constructor(
    private readonly config: AppConfig,
    private readonly credentials: CredentialsRepository,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    private readonly credentialCache: CredentialCache,
  ) {}

  async create(user: AuthUser, input: NewApiToken, req: Request): Promise<{ token: string; record: ApiToken }> {
    const token = this.tokens.randomToken(API_TOKEN_PREFIX);
    const scopes = TOKEN_SCOPES.filter((s) => (input.scopes ?? TOKEN_SCOPES).includes(s));
    const days = input.expiresInDays ?? this.config.API_TOKEN_DEFAULT_TTL_DAYS;
    const max = this.config.API_TOKENS_MAX_PER_USER;
    const record = await this.credentials.createApiTokenWithinCap(
      {
        userId: user.id,
        name: input.name,
        prefix: token.slice(0, SHOWN_PREFIX_LENGTH),
        tokenHash: hashToken(token),
        scopes,
        expiresAt: new Date(Date.now() + days * DAY_MS),
      },
      max,
    );
    if (!record) {
      throw new AppException(
        ErrorCode.CONFLICT,
        `You already have ${max} active personal API tokens, the most allowed; revoke one before creating another`,
        HttpStatus.CONFLICT,
        { limit: max },
      );
    }
    await this.audit.record(req, {
      action: AuditAction.TokenCreated,
      actorId: user.id,
      target: record.id,
      metadata: { name: input.name, prefix: record.prefix, scopes, expiresAt: record.expiresAt?.toISOString() ?? null },
    });
    return { token, record };
  }

  list(user: AuthUser): Promise<ApiToken[]> {
    return this.credentials.listApiTokens(user.id);
  }

  async revoke(user: AuthUser, id: string, req: Request): Promise<void> {
    if (!(await this.credentials.revokeApiToken(user.id, id))) throw AppException.notFound('Token');
    await this.credentialCache.forgetUser(user.id);
    await this.audit.record(req, { action: AuditAction.TokenRevoked, actorId: user.id, target: id });
  }
}
