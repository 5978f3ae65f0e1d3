/**
 * `npm run keys:rotate`: after moving the old key to ENCRYPTION_KEY_PREVIOUS and setting a
 * new ENCRYPTION_KEY, re-encrypts every stored provider key under the new one. Afterwards
 * ENCRYPTION_KEY_PREVIOUS can be removed.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { config as loadDotenv } from 'dotenv';
import { AppModule } from '../../app.module';
import { loadConfig } from '../../config/app.config';
import { ProfileService } from '../../modules/profile/profile.service';

async function main(): Promise<void> {
  if (process.env.NODE_ENV !== 'production') loadDotenv({ quiet: true });
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { logger: ['error', 'warn', 'log'] });
  try {
    const count = await app.get(ProfileService).reencryptKeys();
    console.log(count ? `Re-encrypted ${count} provider key(s) under the current ENCRYPTION_KEY.` : 'All provider keys already use the current ENCRYPTION_KEY.');
  } finally {
    await app.close();
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
