import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { PasswordService } from './password.service';
import { UsersRepository } from './users.repository';

export const DEMO_USERNAME = 'admin@example.com';
export const DEMO_PASSWORD = 'admin123';

/** Seed 003's demo account, so a fresh clone can sign in. Development only, empty table only. */
@Injectable()
export class DemoUserSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger('DemoUser');

  constructor(
    private readonly config: AppConfig,
    private readonly users: UsersRepository,
    private readonly passwords: PasswordService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.seedDemoUser || (await this.users.count()) > 0) return;
    await this.users.create({
      username: DEMO_USERNAME,
      passwordHash: await this.passwords.hash(DEMO_PASSWORD),
      displayName: 'Demo Admin',
      role: 'admin',
    });
    this.logger.warn(`Created the demo admin account ${DEMO_USERNAME} / ${DEMO_PASSWORD} (development only; change or delete it)`);
  }
}
