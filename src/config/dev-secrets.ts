import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevelopmentSecrets {
  JWT_SECRET: string;
  ENCRYPTION_KEY: string;
}

const FILE = 'dev-secrets.json';

/**
 * Development convenience: secrets generated on first start and kept in the data
 * directory (mode 0600). Production never reaches this; it must be given real ones.
 */
export function loadDevelopmentSecrets(dataDir: string): DevelopmentSecrets & { created: boolean; path: string } {
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as DevelopmentSecrets;
    return { ...stored, created: false, path };
  }
  const secrets: DevelopmentSecrets = {
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, JSON.stringify(secrets, null, 2) + '\n', { mode: 0o600 });
  return { ...secrets, created: true, path };
}
