import { HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import type { AuthUser, Role } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { LoginThrottle } from '../../common/throttling/login-delay';
import { clientIp } from '../../common/throttling/rate-limit.guard';
import { AppConfig } from '../../config/app.config';
import { User } from '../../infra/database/generated/client';
import { AuditAction, AuditService } from '../audit/audit.service';
import { LoginDto, RegisterDto } from './auth.dto';
import { CredentialsRepository } from './credentials.repository';
import { PasswordService } from './password.service';
import { hashToken, TokenService } from './token.service';
import { UsersRepository } from './users.repository';
import { CredentialCache } from '../../infra/cache/credential-cache';

export interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  refreshExpiresAt: Date;
}

const DAY_MS = 86_400_000;
const invalidCredentials = () => new AppException(ErrorCode.INVALID_CREDENTIALS, 'Invalid username or password', HttpStatus.UNAUTHORIZED);
const invalidRefresh = () => new AppException(ErrorCode.INVALID_REFRESH_TOKEN, 'Session expired, sign in again', HttpStatus.UNAUTHORIZED);

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/** Password policy beyond the DTO's length rule. */
export function checkPasswordPolicy(username: string, password: string): void {
  if (normalizeUsername(password) === normalizeUsername(username)) {
    throw AppException.validation('Invalid request parameters', { fields: { password: ['password must not equal the username'] } });
  }
}

@Injectable()
export class AuthService {
  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly credentials: CredentialsRepository,
    private readonly passwords: PasswordService,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    private readonly loginThrottle: LoginThrottle,
    private readonly credentialCache: CredentialCache,
  ) {}

  async register(dto: RegisterDto, req: Request): Promise<{ user: User; session: Session }> {
    if (!this.config.allowRegistration) {
      throw new AppException(ErrorCode.REGISTRATION_DISABLED, 'Registration is disabled on this server', HttpStatus.FORBIDDEN);
    }
    const user = await this.createAccount(dto);
    await this.audit.record(req, { action: AuditAction.Register, actorId: user.id, target: user.id });
    return { user, session: await this.startSession(user, req) };
  }

  /** A new account under the password policy; sign-up and admins both create them here. */
  async createAccount(input: { username: string; password: string; displayName?: string; role?: Role }): Promise<User> {
    const username = normalizeUsername(input.username);
    checkPasswordPolicy(username, input.password);
    if (await this.users.findByUsername(username)) {
      throw new AppException(ErrorCode.CONFLICT, 'An account with this username already exists', HttpStatus.CONFLICT);
    }
    return this.users.create({
      username,
      passwordHash: await this.passwords.hash(input.password),
      displayName: input.displayName?.trim() || null,
      role: input.role ?? 'user',
    });
  }

  /**
   * Unknown users, disabled users and wrong passwords all cost one argon2 verification and
   * get the same answer. Failures slow down further attempts of the same (client IP,
   * username) progressively (LoginThrottle): an attempt that comes too soon gets 429 with
   * Retry-After, without a password check, and is audited. Nothing is locked, so failures
   * from another address never keep the owner out, and unknown and existing usernames
   * are treated alike (same answers, same work).
   */
  async login(dto: LoginDto, req: Request): Promise<{ user: User; session: Session }> {
    const username = normalizeUsername(dto.username);
    const ip = clientIp(req);
    const waitSeconds = await this.loginThrottle.retryAfterSeconds(ip, username);
    const user = await this.users.findByUsername(username);
    if (waitSeconds > 0) {
      await this.audit.record(req, { action: AuditAction.LoginDelayed, actorId: user?.id, target: username, metadata: { retryAfterSeconds: waitSeconds } });
      req.res?.setHeader('Retry-After', waitSeconds);
      throw new AppException(ErrorCode.RATE_LIMITED, 'Too many failed sign-ins; wait before trying again', HttpStatus.TOO_MANY_REQUESTS, {
        retryAfterSeconds: waitSeconds,
      });
    }
    const passwordOk = await this.passwords.verify(user?.passwordHash, dto.password);
    if (!user || !passwordOk || user.disabledAt) {
      const { failures, nextDelaySeconds } = await this.loginThrottle.recordFailure(ip, username);
      const reason = !user ? 'unknown_user' : user.disabledAt ? 'disabled' : 'wrong_password';
      await this.audit.record(req, {
        action: AuditAction.LoginFailed,
        actorId: user?.id,
        target: username,
        metadata: { reason, ...(nextDelaySeconds > 0 ? { failures, nextDelaySeconds } : {}) },
      });
      throw invalidCredentials();
    }
    await this.loginThrottle.clear(ip, username);
    await this.audit.record(req, { action: AuditAction.Login, actorId: user.id, target: user.id });
    return { user, session: await this.startSession(user, req) };
  }

  /** Rotates a refresh token. Presenting one that was already rotated revokes its whole family. */
  async refresh(refreshToken: string | undefined, req: Request): Promise<{ user: User; session: Session }> {
    if (!refreshToken) throw invalidRefresh();
    const stored = await this.credentials.findRefreshToken(hashToken(refreshToken));
    if (!stored || stored.revokedAt || stored.expiresAt <= new Date()) throw invalidRefresh();
    if (stored.rotatedAt || !(await this.credentials.claimRefreshToken(stored.id))) {
      const revoked = await this.credentials.revokeFamily(stored.familyId);
      await this.credentialCache.forgetUser(stored.userId);
      await this.audit.record(req, {
        action: AuditAction.RefreshReuse,
        actorId: stored.userId,
        target: stored.familyId,
        metadata: { revokedTokens: revoked },
      });
      throw invalidRefresh();
    }
    const user = await this.users.findById(stored.userId);
    if (!user || user.disabledAt) throw invalidRefresh();
    return { user, session: await this.issueTokens(user, stored.familyId, req) };
  }

  /** Ends the session of the presented access token (even an expired one) and/or refresh token. */
  async logout(accessToken: string | undefined, refreshToken: string | undefined, req: Request): Promise<void> {
    const claims = accessToken ? this.tokens.verifyAccess(accessToken, { ignoreExpiration: true }) : null;
    let familyId = claims?.sid;
    let userId = claims?.sub;
    if (!familyId && refreshToken) {
      const stored = await this.credentials.findRefreshToken(hashToken(refreshToken));
      familyId = stored?.familyId;
      userId = stored?.userId;
    }
    if (!familyId) return;
    await this.credentials.revokeFamily(familyId);
    if (userId) await this.credentialCache.forgetUser(userId);
    await this.audit.record(req, { action: AuditAction.Logout, actorId: userId, target: familyId });
  }

  async changePassword(actor: AuthUser, currentPassword: string, newPassword: string, req: Request): Promise<void> {
    const user = await this.users.findById(actor.id);
    if (!user || !(await this.passwords.verify(user.passwordHash, currentPassword))) {
      throw new AppException(ErrorCode.INVALID_CREDENTIALS, 'Current password is wrong', HttpStatus.UNAUTHORIZED);
    }
    checkPasswordPolicy(user.username, newPassword);
    await this.users.update(user.id, { passwordHash: await this.passwords.hash(newPassword) });
    // Every other session ends; the one that changed the password stays signed in. Personal
    // tokens all end: whoever held the old password may have made them.
    const revoked = await this.credentials.revokeUserSessions(user.id, actor.sessionId);
    const revokedPersonal = await this.credentials.revokeUserApiTokens(user.id);
    await this.credentialCache.forgetUser(user.id);
    await this.audit.record(req, {
      action: AuditAction.PasswordChanged,
      actorId: user.id,
      target: user.id,
      // Personal tokens revoked (a key naming "token" would be redacted from the audit log).
      metadata: { revokedSessions: revoked, revokedPersonal },
    });
  }

  private startSession(user: User, req: Request): Promise<Session> {
    return this.issueTokens(user, randomUUID(), req);
  }

  private async issueTokens(user: User, familyId: string, req: Request): Promise<Session> {
    const refreshToken = this.tokens.randomToken();
    const refreshExpiresAt = new Date(Date.now() + this.config.REFRESH_TOKEN_TTL_DAYS * DAY_MS);
    await this.credentials.createRefreshToken({
      userId: user.id,
      familyId,
      tokenHash: hashToken(refreshToken),
      expiresAt: refreshExpiresAt,
      ip: req.ip ?? null,
      userAgent: req.headers['user-agent']?.slice(0, 300) ?? null,
    });
    const accessToken = this.tokens.signAccess({ sub: user.id, username: user.username, role: user.role, scope: ['read', 'write'], sid: familyId });
    return { accessToken, refreshToken, expiresIn: this.tokens.accessTtlSeconds, refreshExpiresAt };
  }
}
