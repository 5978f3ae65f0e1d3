import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevelopmentSecrets {
  JWT_SECRET: string;
  ENCRYPTION_KEY: string;
}

const FILE = 'dev-secrets.json';

/** Modes of what Parley keeps in DATA_DIR: its user's only. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** True when a mode gives the group or others any access. */
export function isShared(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/** Creates a directory and its missing parents for the owner only (0700). */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Development convenience: secrets generated on first start and kept in the data
 * directory (mode 0600, set again at each start). Production never reaches this; it
 * must be given real ones.
 */
export function loadDevelopmentSecrets(dataDir: string): DevelopmentSecrets & { created: boolean; path: string } {
  const path = join(dataDir, FILE);
  if (existsSync(path)) {
    if (isShared(statSync(path).mode)) chmodSync(path, PRIVATE_FILE_MODE);
    const stored = JSON.parse(readFileSync(path, 'utf8')) as DevelopmentSecrets;
    return { ...stored, created: false, path };
  }
  const secrets: DevelopmentSecrets = {
    JWT_SECRET: randomBytes(48).toString('base64url'),
    ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  };
  makePrivateDir(dataDir);
  writeFileSync(path, JSON.stringify(secrets, null, 2) + '\n', { mode: PRIVATE_FILE_MODE });
  // The mode applies only when the file is created.
  if (isShared(statSync(path).mode)) chmodSync(path, PRIVATE_FILE_MODE);
  return { ...secrets, created: true, path };
}
