import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './app.config';

const SECRETS = { JWT_SECRET: 'x'.repeat(40), ENCRYPTION_KEY: 'b'.repeat(64) };

describe('loadConfig', () => {
  it('applies defaults and converts types', () => {
    const config = loadConfig({ ...SECRETS, PORT: '8080', MIGRATE_ON_START: 'true' });
    expect(config.PORT).toBe(8080);
    expect(config.MIGRATE_ON_START).toBe(true);
    expect(config.NODE_ENV).toBe('development');
    expect(config.databaseEngine).toBe('pglite');
    expect(config.logLevel).toBe('debug');
    expect(config.logPretty).toBe(true);
  });

  it('names every bad variable and hides secret values', () => {
    const attempt = () =>
      loadConfig({ ...SECRETS, PORT: 'eighty', DATABASE_URL: 'mysql://user:hunter2@db/x', LOG_LEVEL: 'loud' });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as ConfigError).message;
      expect(message).toMatch(/PORT/);
      expect(message).toMatch(/DATABASE_URL/);
      expect(message).toMatch(/LOG_LEVEL/);
      expect(message).not.toContain('hunter2');
    }
  });

  it('refuses to start in production without JWT_SECRET and ENCRYPTION_KEY', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET.*\n.*ENCRYPTION_KEY/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRETS.JWT_SECRET })).toThrow(/ENCRYPTION_KEY: required/);
  });

  it('rejects weak secrets', () => {
    expect(() => loadConfig({ JWT_SECRET: 'short', ENCRYPTION_KEY: SECRETS.ENCRYPTION_KEY })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ JWT_SECRET: SECRETS.JWT_SECRET, ENCRYPTION_KEY: 'abc' })).toThrow(/ENCRYPTION_KEY/);
  });

  it('generates development secrets once and keeps them in the data directory', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-config-'));
    const first = loadConfig({ DATA_DIR: dataDir });
    const second = loadConfig({ DATA_DIR: dataDir });
    expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(first.encryptionKey).toMatch(/^[0-9a-f]{64}$/);
    expect(second.jwtSecret).toBe(first.jwtSecret);
    expect(second.encryptionKey).toBe(first.encryptionKey);
    expect(first.generatedSecrets?.names).toEqual(['JWT_SECRET', 'ENCRYPTION_KEY']);
    const file = join(dataDir, 'dev-secrets.json');
    expect(JSON.parse(readFileSync(file, 'utf8')).JWT_SECRET).toBe(first.jwtSecret);
    expect(statSync(file).mode & 0o077).toBe(0);
  });

  it('uses production defaults for logging', () => {
    const config = loadConfig({ ...SECRETS, NODE_ENV: 'production' });
    expect(config.logLevel).toBe('info');
    expect(config.logPretty).toBe(false);
  });

  it('selects PostgreSQL when DATABASE_URL is set', () => {
    const config = loadConfig({ ...SECRETS, DATABASE_URL: 'postgresql://localhost:5432/parley' });
    expect(config.databaseEngine).toBe('postgresql');
  });
});
