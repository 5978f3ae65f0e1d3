import { Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { currentRequestId, requestIdOf } from '../../common/http/request-id';
import { redactSecrets } from '../../common/logging/redact';
import { auditRequest } from './audit-context';
import { AuditRepository } from './audit.repository';

/** Actions written to the audit log. */
export enum AuditAction {
  Register = 'auth.register',
  Login = 'auth.login',
  LoginFailed = 'auth.login_failed',
  /** A sign-in attempt refused unchecked because it came too soon after failures (progressive delay). */
  LoginDelayed = 'auth.login_delayed',
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
  /** An admin read users, a user, a user's usage or the audit log. */
  AdminRead = 'admin.read',
  ThreadDeleted = 'threads.deleted',
  ModelLoadRequested = 'models.load_requested',
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
  async record(req: Request | undefined, event: AuditEvent): Promise<void> {
    await this.repository.create({
      action: event.action,
      actorId: event.actorId ?? null,
      target: event.target ?? null,
      ip: req?.ip ?? null,
      requestId: (req ? requestIdOf(req) : currentRequestId()) || null,
      metadata: redactSecrets(event.metadata ?? {}) as object,
    });
  }

  /**
   * Records an action of the HTTP request being handled (address and request id from it;
   * the actor defaults to its signed-in user), for services that are not handed the request.
   */
  recordForCurrentRequest(event: AuditEvent): Promise<void> {
    const req = auditRequest() as (Request & { user?: { id: string } }) | undefined;
    return this.record(req, { ...event, actorId: event.actorId === undefined ? req?.user?.id : event.actorId });
  }
}
