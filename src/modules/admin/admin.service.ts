import { HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { decodeCursor, pageOf } from '../../common/http/cursor';
import { Paginated } from '../../common/http/envelope';
import { User } from '../../infra/database/generated/client';
import { auditRequest } from '../audit/audit-context';
import { AuditRepository } from '../audit/audit.repository';
import { AuditAction, AuditService } from '../audit/audit.service';
import { AuthService, checkPasswordPolicy } from '../auth/auth.service';
import { CredentialsRepository } from '../auth/credentials.repository';
import { PasswordService } from '../auth/password.service';
import { UsersRepository } from '../auth/users.repository';
import { AdminUserDto, AuditEntryDto, AuditQueryDto, CreateUserDto, ListUsersQueryDto, UpdateUserDto } from './admin.dto';
import { CredentialCache } from '../../infra/cache/credential-cache';

export function toAdminUser(user: User): AdminUserDto {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    role: user.role,
    disabled: user.disabledAt !== null,
    lockedUntil: user.lockedUntil && user.lockedUntil > new Date() ? user.lockedUntil : null,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  };
}

const cannotTargetSelf = (what: string) =>
  new AppException(ErrorCode.UNPROCESSABLE, `Admins cannot ${what} their own account`, HttpStatus.UNPROCESSABLE_ENTITY);

@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersRepository,
    private readonly credentials: CredentialsRepository,
    private readonly passwords: PasswordService,
    private readonly auth: AuthService,
    private readonly auditLog: AuditRepository,
    private readonly audit: AuditService,
    private readonly credentialCache: CredentialCache,
  ) {}

  async listUsers(query: ListUsersQueryDto): Promise<Paginated<{ users: AdminUserDto[] }>> {
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await this.users.list(query.limit, after, query.q);
    const page = pageOf(rows, query.limit, (u) => u.createdAt.toISOString());
    await this.auditRead('users', null, { ...(query.q ? { q: query.q } : {}), count: page.items.length });
    return new Paginated({ users: page.items.map(toAdminUser) }, { cursor: page.cursor, limit: query.limit, hasMore: page.hasMore });
  }

  /** One user; also the check before an admin reads a user's usage (audited as such). */
  async getUser(id: string): Promise<AdminUserDto> {
    const user = toAdminUser(await this.requireUser(id));
    await this.auditRead(/\/usage\/?$/.test(auditRequest()?.path ?? '') ? 'usage' : 'user', id);
    return user;
  }

  async createUser(admin: AuthUser, dto: CreateUserDto, req: Request): Promise<AdminUserDto> {
    const user = await this.auth.createAccount(dto);
    await this.audit.record(req, { action: AuditAction.AdminUserCreated, actorId: admin.id, target: user.id, metadata: { role: user.role } });
    return toAdminUser(user);
  }

  async updateUser(admin: AuthUser, id: string, dto: UpdateUserDto, req: Request): Promise<AdminUserDto> {
    const user = await this.requireUser(id);
    if (id === admin.id && (dto.disabled === true || dto.role === 'user')) throw cannotTargetSelf('disable or demote');
    if (dto.password) checkPasswordPolicy(user.username, dto.password);
    const updated = await this.users.update(id, {
      ...(dto.displayName !== undefined ? { displayName: dto.displayName.trim() || null } : {}),
      ...(dto.role ? { role: dto.role } : {}),
      ...(dto.disabled !== undefined ? { disabledAt: dto.disabled ? (user.disabledAt ?? new Date()) : null } : {}),
      ...(dto.password ? { passwordHash: await this.passwords.hash(dto.password), failedLoginCount: 0, lockedUntil: null } : {}),
    });
    // A disabled account or a reset password leaves no session or token behind.
    if (dto.disabled || dto.password) {
      await this.credentials.revokeUserSessions(id);
      await this.credentials.revokeUserApiTokens(id);
    }
    // Role, access and password changes reach cached personal tokens on every pod at once.
    await this.credentialCache.forgetUser(id);
    const changed = Object.keys(dto).filter((k) => dto[k as keyof UpdateUserDto] !== undefined);
    // Privilege and access changes carry their old and new values.
    const transitions = {
      ...(dto.role !== undefined && dto.role !== user.role ? { role: { from: user.role, to: dto.role } } : {}),
      ...(dto.disabled !== undefined && dto.disabled !== (user.disabledAt !== null) ? { disabled: { from: user.disabledAt !== null, to: dto.disabled } } : {}),
    };
    await this.audit.record(req, { action: AuditAction.AdminUserUpdated, actorId: admin.id, target: id, metadata: { changed, ...transitions } });
    return toAdminUser(updated);
  }

  async deleteUser(admin: AuthUser, id: string, req: Request): Promise<void> {
    if (id === admin.id) throw cannotTargetSelf('delete');
    await this.requireUser(id);
    await this.users.delete(id);
    await this.credentialCache.forgetUser(id);
    await this.audit.record(req, { action: AuditAction.AdminUserDeleted, actorId: admin.id, target: id });
  }

  async listAudit(query: AuditQueryDto): Promise<Paginated<{ entries: AuditEntryDto[] }>> {
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await this.auditLog.list({ action: query.action, actorId: query.actorId }, query.limit, after);
    const page = pageOf(rows, query.limit, (e) => e.createdAt.toISOString());
    // Written after the read, so a page never shows its own read.
    await this.auditRead('audit', null, { ...(query.action ? { action: query.action } : {}), ...(query.actorId ? { actorId: query.actorId } : {}), count: page.items.length });
    const entries = page.items.map((e) => ({
      id: e.id,
      action: e.action,
      actorId: e.actorId,
      actorUsername: e.actor?.username ?? null,
      target: e.target,
      ip: e.ip,
      requestId: e.requestId,
      metadata: e.metadata as Record<string, unknown>,
      createdAt: e.createdAt,
    }));
    return new Paginated({ entries }, { cursor: page.cursor, limit: query.limit, hasMore: page.hasMore });
  }

  /** Admin reads are audited with the admin and address of the request being handled. */
  private auditRead(resource: 'users' | 'user' | 'usage' | 'audit', target: string | null, details: Record<string, unknown> = {}): Promise<void> {
    return this.audit.recordForCurrentRequest({ action: AuditAction.AdminRead, target, metadata: { resource, ...details } });
  }

  private async requireUser(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw AppException.notFound('User');
    return user;
  }
}
