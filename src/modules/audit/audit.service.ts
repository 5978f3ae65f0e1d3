import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { requestIdOf } from '../../common/http/request-id';
import { redactSecrets } from '../../common/logging/redact';
import { AuditRepository } from './audit.repository';

/** Actions written to the audit log. */
export enum AuditAction {
  Register = 'auth.register',
  Login = 'auth.login',
  LoginFailed = 'auth.login_failed',
  AccountLocked = 'auth.account_locked',
  Logout = 'auth.logout',
  RefreshReuse = 'auth.refresh_reuse',
  PasswordChanged = 'auth.password_changed',
  ProviderKeyAdded = 'profile.api_key_added',
  ProviderKeyRemoved = 'profile.api_key_removed',
  TokenCreated = 'profile.token_created',
  TokenRevoked = 'profile.token_revoked',
  AdminUserCreated = 'admin.user_created',
  AdminUserUpdated = 'admin.user_updated',
  AdminUserDeleted = 'admin.user_deleted',
}

export interface AuditEvent {
  action: AuditAction;
  actorId?: string | null;
  target?: string | null;
  metadata?: Record<string, unknown>;
}

@Injectable()
export class AuditService {
  constructor(private readonly repository: AuditRepository) {}

  /** Records who did what from where; metadata is scrubbed of anything secret-looking. */
  async record(req: Request, event: AuditEvent): Promise<void> {
    await this.repository.create({
      action: event.action,
      actorId: event.actorId ?? null,
      target: event.target ?? null,
      ip: req.ip ?? null,
      requestId: requestIdOf(req) || null,
      metadata: redactSecrets(event.metadata ?? {}) as object,
    });
  }
}
