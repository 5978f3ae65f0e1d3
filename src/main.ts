import 'reflect-metadata';
import { config as loadDotenv } from 'dotenv';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.setup';
import { installSignalHandlers } from './common/lifecycle/graceful-shutdown';
import { installProcessGuards } from './common/lifecycle/process-guards';
import { ConfigError, loadConfig } from './config/app.config';

async function bootstrap(): Promise<void> {
  // Everything this process creates (DATA_DIR, the embedded database's directories, the
  // development secrets) is for its own user only. PGlite sets its files to 0666 whatever
  // the umask; configureApp restricts them, and the 0700 directories keep them private.
  process.umask(0o077);
  if (process.env.NODE_ENV !== 'production') loadDotenv({ quiet: true });
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp(config);
  installProcessGuards();
  installSignalHandlers(app, { delayMs: config.SHUTDOWN_DELAY_MS, graceMs: config.SHUTDOWN_GRACE_MS });
  await app.listen(config.PORT, config.host);
  app.get(Logger).log(`Parley listening on http://${config.host}:${config.PORT} (docs at /api/docs)`, 'Bootstrap');
}

void bootstrap();
