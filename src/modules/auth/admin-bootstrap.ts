import { Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { Prisma, User } from '../../infra/database/generated/client';
import { AuditAction, AuditService } from '../audit/audit.service';
import { normalizeUsername } from './auth.service';
import { PasswordService } from './password.service';
import { UsersRepository } from './users.repository';

/**
 * The first admin of an install, from the environment, in every environment: at each
 * start, ADMIN_EMAIL's account is created with ADMIN_PASSWORD when it does not exist, and
 * made an admin when it is not one. It is idempotent, and never changes an existing
 * account's password (a differing ADMIN_PASSWORD is reported, not applied) nor re-enables
 * a disabled account. Both changes are written to the audit log (no actor, `via: env`).
 * Run by DemoUserSeeder at application bootstrap, before the demo account.
 */
export class AdminBootstrap {
  private readonly logger = new Logger('AdminBootstrap');

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly audit: AuditService,
  ) {}

  async run(): Promise<void> {
    if (!this.config.ADMIN_EMAIL) return;
    const username = normalizeUsername(this.config.ADMIN_EMAIL);
    const existing = (await this.users.findByUsername(username)) ?? (await this.create(username));
    if (existing) await this.promote(existing);
  }

  /** The new admin, or the account another instance created meanwhile, or null without ADMIN_PASSWORD. */
  private async create(username: string): Promise<User | null> {
    const password = this.config.ADMIN_PASSWORD;
    if (!password) {
      this.logger.warn(`ADMIN_EMAIL ${username} has no account and ADMIN_PASSWORD is not set: no admin created`);
      return null;
    }
    try {
      const user = await this.users.create({ username, passwordHash: await this.passwords.hash(password), displayName: 'Admin', role: 'admin' });
      await this.audit.record(undefined, { action: AuditAction.AdminUserCreated, actorId: null, target: user.id, metadata: { role: 'admin', via: 'env' } });
      this.logger.log(`Created the admin account ${username} (ADMIN_EMAIL / ADMIN_PASSWORD)`);
      return null;
    } catch (error) {
      // Another instance starting at the same time created it first.
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return this.users.findByUsername(username);
      throw error;
    }
  }

  private async promote(user: User): Promise<void> {
    if (user.role !== 'admin') {
      await this.users.update(user.id, { role: 'admin' });
      await this.audit.record(undefined, { action: AuditAction.AdminUserUpdated, actorId: null, target: user.id, metadata: { role: 'admin', via: 'env' } });
      this.logger.warn(`Made ${user.username} an admin (ADMIN_EMAIL); its password is unchanged`);
    }
    if (this.config.ADMIN_PASSWORD && !(await this.passwords.verify(user.passwordHash, this.config.ADMIN_PASSWORD))) {
      this.logger.warn(
        `ADMIN_PASSWORD is not the password of ${user.username}: left unchanged (ADMIN_PASSWORD only sets the password of an account it creates). ` +
          'Change it with POST /api/profile/password, then remove ADMIN_PASSWORD',
      );
    }
    if (user.disabledAt) this.logger.warn(`The admin account ${user.username} is disabled: left disabled (PATCH /api/admin/users/:id enables it)`);
  }
}
