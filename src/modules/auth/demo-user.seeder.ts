import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { AuditService } from '../audit/audit.service';
import { AdminBootstrap } from './admin-bootstrap';
import { PasswordService } from './password.service';
import { UsersRepository } from './users.repository';

export const DEMO_USERNAME = 'admin@example.com';
export const DEMO_PASSWORD = 'admin123';

/**
 * Accounts made at start: first the ADMIN_EMAIL admin in any environment (AdminBootstrap),
 * then seed 003's demo account, so a fresh clone can sign in: development only (never in
 * production), empty table only, and not when ADMIN_EMAIL names the admin.
 */
@Injectable()
export class DemoUserSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('DemoUser');

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
    private readonly audit: AuditService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await new AdminBootstrap(this.config, this.users, this.passwords, this.audit).run();
    if (!this.config.seedDemoUser || this.config.ADMIN_EMAIL || (await this.users.count()) > 0) return;
    await this.users.create({
      username: DEMO_USERNAME,
      passwordHash: await this.passwords.hash(DEMO_PASSWORD),
      displayName: 'Demo Admin',
      role: 'admin',
    });
    this.logger.warn(`Created the demo admin account ${DEMO_USERNAME} / ${DEMO_PASSWORD} (development only; change or delete it)`);
  }
}
