import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ApiToken } from '../../infra/database/generated/client';
import { AuditAction, AuditService } from '../audit/audit.service';
import { CredentialsRepository } from './credentials.repository';
import { API_TOKEN_PREFIX, hashToken, TokenService } from './token.service';

/** Characters of a token shown in lists: `pk_` plus 8 of its random part. */
const SHOWN_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 8;

/** Personal API tokens (pk_…) for programs: shown once, stored as sha256. */
@Injectable()
export class ApiTokensService {
  constructor(
    private readonly credentials: CredentialsRepository,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
  ) {}

  async create(user: AuthUser, name: string, expiresInDays: number | undefined, req: Request): Promise<{ token: string; record: ApiToken }> {
    const token = this.tokens.randomToken(API_TOKEN_PREFIX);
    const record = await this.credentials.createApiToken({
      userId: user.id,
      name,
      prefix: token.slice(0, SHOWN_PREFIX_LENGTH),
      tokenHash: hashToken(token),
      expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null,
    });
    await this.audit.record(req, { action: AuditAction.TokenCreated, actorId: user.id, target: record.id, metadata: { name, prefix: record.prefix } });
    return { token, record };
  }

  list(user: AuthUser): Promise<ApiToken[]> {
    return this.credentials.listApiTokens(user.id);
  }

  async revoke(user: AuthUser, id: string, req: Request): Promise<void> {
    if (!(await this.credentials.revokeApiToken(user.id, id))) throw AppException.notFound('Token');
    await this.audit.record(req, { action: AuditAction.TokenRevoked, actorId: user.id, target: id });
  }
}
