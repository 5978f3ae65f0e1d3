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

describe('TRUST_PROXY', () => {
  const trustProxy = (value: string) => loadConfig({ ...SECRETS, TRUST_PROXY: value }).trustProxy;

  it('takes a hop count, addresses, CIDR ranges and proxy-addr names, as Express does', () => {
    expect(trustProxy('false')).toBe(false);
    expect(trustProxy('1')).toBe(1);
    expect(trustProxy('2')).toBe(2);
    expect(trustProxy('loopback')).toEqual(['loopback']);
    expect(trustProxy('10.0.0.0/8, 192.168.1.7,fd00::/8, Uniquelocal')).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8', 'uniquelocal']);
    expect(trustProxy('10.0.0.0/255.0.0.0')).toEqual(['10.0.0.0/255.0.0.0']);
    expect(loadConfig(SECRETS).trustProxy).toBe(false);
  });

  it('refuses `true` and ranges covering every address, saying what to set instead', () => {
    for (const value of ['true', 'TRUE', '0.0.0.0/0', '::/0', '10.0.0.0/8,0.0.0.0/0']) {
      expect(() => trustProxy(value)).toThrow(/TRUST_PROXY.*must not trust every address.*number of proxies.*\(e\.g\. 1/);
    }
  });

  it('names a bad entry', () => {
    expect(() => trustProxy('yes')).toThrow(/TRUST_PROXY entry "yes" is not an IP address/);
    expect(() => trustProxy('10.0.0.0/33')).toThrow(/"10\.0\.0\.0\/33"/);
    expect(() => trustProxy('1,2')).toThrow(/"1"/);
    expect(() => trustProxy('100')).toThrow(/at most 32/);
  });
});

describe('HTTP hardening defaults', () => {
  it('binds 127.0.0.1 outside production and 0.0.0.0 in production unless HOST says otherwise', () => {
    expect(loadConfig(SECRETS).host).toBe('127.0.0.1');
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'test' }).host).toBe('127.0.0.1');
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'production' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...SECRETS, HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'production', HOST: '10.1.2.3' }).host).toBe('10.1.2.3');
  });

  it('serves Swagger UI by default outside production only', () => {
    expect(loadConfig(SECRETS).swaggerEnabled).toBe(true);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'production' }).swaggerEnabled).toBe(false);
    expect(loadConfig({ ...SECRETS, NODE_ENV: 'production', SWAGGER_ENABLED: 'true' }).swaggerEnabled).toBe(true);
    expect(loadConfig({ ...SECRETS, SWAGGER_ENABLED: 'false' }).swaggerEnabled).toBe(false);
  });

  it('validates ADMIN_EMAIL and ADMIN_PASSWORD, hiding the password', () => {
    const ok = loadConfig({ ...SECRETS, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'a long enough password' });
    expect(ok.ADMIN_EMAIL).toBe('root@example.com');
    expect(loadConfig({ ...SECRETS, ADMIN_EMAIL: 'root@example.com' }).ADMIN_PASSWORD).toBeUndefined();
    expect(() => loadConfig({ ...SECRETS, ADMIN_EMAIL: 'root' })).toThrow(/ADMIN_EMAIL must be an email address/);
    expect(() => loadConfig({ ...SECRETS, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD must be at least 10/);
    expect(() => loadConfig({ ...SECRETS, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'ROOT@example.com' })).toThrow(/must not equal ADMIN_EMAIL/);
    expect(() => loadConfig({ ...SECRETS, ADMIN_PASSWORD: 'a long enough password' })).toThrow(/ADMIN_PASSWORD needs ADMIN_EMAIL/);
    try {
      loadConfig({ ...SECRETS, ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'short-pw' });
    } catch (error) {
      expect((error as Error).message).not.toContain('short-pw');
    }
  });
});
