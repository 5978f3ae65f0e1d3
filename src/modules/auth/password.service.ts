import { Injectable, OnModuleInit } from '@nestjs/common';
import argon2 from 'argon2';
import { AppConfig } from '../../config/app.config';

/** argon2id with OWASP's parameters (memory configurable); verification never throws. */
@Injectable()
export class PasswordService implements OnModuleInit {
  /** A real hash to verify against when the user does not exist, so both cases take as long. */
  private dummyHash = '';

  constructor(private readonly config: AppConfig) {}

  async onModuleInit(): Promise<void> {
    this.dummyHash = await this.hash('not-a-real-password-just-for-timing');
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id, memoryCost: this.config.PASSWORD_HASH_MEMORY_KIB, timeCost: 2, parallelism: 1 });
  }

  async verify(hash: string | undefined, password: string): Promise<boolean> {
    try {
      const ok = await argon2.verify(hash ?? this.dummyHash, password);
      return hash !== undefined && ok;
    } catch {
      return false;
    }
  }
}
