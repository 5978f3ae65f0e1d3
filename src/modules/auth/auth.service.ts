import { HttpStatus, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { randomUUID } from 'node:crypto';
import type { AuthUser, Role } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { ErrorCode } from '../../common/errors/error-codes';
import { AppConfig } from '../../config/app.config';
import { User } from '../../infra/database/generated/client';
import { AuditAction, AuditService } from '../audit/audit.service';
import { LoginDto, RegisterDto } from './auth.dto';
import { CredentialsRepository } from './credentials.repository';
import { PasswordService } from './password.service';
import { API_TOKEN_PREFIX, hashToken, TokenService } from './token.service';
import { UsersRepository } from './users.repository';

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
   * get the same answer; a run of failures locks the account for LOGIN_LOCK_MINUTES.
   */
  async login(dto: LoginDto, req: Request): Promise<{ user: User; session: Session }> {
    const username = normalizeUsername(dto.username);
    const user = await this.users.findByUsername(username);
    if (user?.lockedUntil && user.lockedUntil > new Date()) {
      const retryAfter = Math.ceil((user.lockedUntil.getTime() - Date.now()) / 1000);
      throw new AppException(ErrorCode.ACCOUNT_LOCKED, 'Too many failed sign-ins; try again later', HttpStatus.TOO_MANY_REQUESTS, {
        retryAfterSeconds: retryAfter,
      });
    }
    const passwordOk = await this.passwords.verify(user?.passwordHash, dto.password);
    if (!user || !passwordOk || user.disabledAt) {
      await this.audit.record(req, { action: AuditAction.LoginFailed, actorId: user?.id, target: username, metadata: { reason: !user ? 'unknown_user' : user.disabledAt ? 'disabled' : 'wrong_password' } });
      if (user && !passwordOk) {
        const lockUntil = new Date(Date.now() + this.config.LOGIN_LOCK_MINUTES * 60_000);
        const updated = await this.users.recordFailedLogin(user.id, this.config.LOGIN_MAX_FAILURES, lockUntil);
        if (updated.lockedUntil && updated.lockedUntil > new Date()) {
          await this.audit.record(req, { action: AuditAction.AccountLocked, actorId: user.id, target: user.id });
        }
      }
      throw invalidCredentials();
    }
    if (user.failedLoginCount > 0 || user.lockedUntil) await this.users.clearFailedLogins(user.id);
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
    await this.audit.record(req, { action: AuditAction.Logout, actorId: userId, target: familyId });
  }

  async changePassword(actor: AuthUser, currentPassword: string, newPassword: string, req: Request): Promise<void> {
    const user = await this.users.findById(actor.id);
    if (!user || !(await this.passwords.verify(user.passwordHash, currentPassword))) {
      throw new AppException(ErrorCode.INVALID_CREDENTIALS, 'Current password is wrong', HttpStatus.UNAUTHORIZED);
    }
    checkPasswordPolicy(user.username, newPassword);
    await this.users.update(user.id, { passwordHash: await this.passwords.hash(newPassword) });
    // Every other session ends; the one that changed the password stays signed in.
    const revoked = await this.credentials.revokeUserSessions(user.id, actor.sessionId);
    await this.audit.record(req, { action: AuditAction.PasswordChanged, actorId: user.id, target: user.id, metadata: { revokedSessions: revoked } });
  }

  /** The guard's question: who does this bearer/cookie credential stand for? */
  async authenticate(credential: string): Promise<AuthUser | null> {
    if (credential.startsWith(API_TOKEN_PREFIX)) return this.authenticateApiToken(credential);
    const claims = this.tokens.verifyAccess(credential);
    if (!claims) return null;
    // Two indexed reads per request keep deleted and disabled users, and ended sessions
    // (logout, password change, reuse detection), out at once rather than after 15 minutes.
    const [user, active] = await Promise.all([this.users.findById(claims.sub), this.credentials.isSessionActive(claims.sid)]);
    if (!user || user.disabledAt || !active) return null;
    return { id: user.id, username: user.username, role: user.role, via: 'session', sessionId: claims.sid };
  }

  private async authenticateApiToken(token: string): Promise<AuthUser | null> {
    const stored = await this.credentials.findApiToken(hashToken(token));
    if (!stored || stored.revokedAt || (stored.expiresAt && stored.expiresAt <= new Date())) return null;
    const { user } = stored;
    if (user.disabledAt) return null;
    // lastUsed is shown to users, a minute's precision is plenty and spares a write per request.
    if (!stored.lastUsedAt || Date.now() - stored.lastUsedAt.getTime() > 60_000) await this.credentials.touchApiToken(stored.id);
    return { id: user.id, username: user.username, role: user.role, via: 'token', tokenId: stored.id };
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
