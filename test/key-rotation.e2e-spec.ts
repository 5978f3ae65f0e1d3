import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { KeyVault } from '../src/infra/crypto/key-vault';
import { PrismaService } from '../src/infra/database/prisma.service';
import { ProfileService } from '../src/modules/profile/profile.service';
import { createTestApp, registerUser, TEST_DATABASE_URL } from './support/test-app';

const KEY_A = 'a1'.repeat(32);
const KEY_B = 'b2'.repeat(32);

/** Runs `sql` on the server of TEST_DATABASE_URL (its maintenance database). */
async function onServer(sql: string): Promise<void> {
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('Provider key rotation (e2e)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-rotation-'));
  const pgName = `parley_rotation_${Date.now()}`;
  // Both apps must see the same database, and only this test's keys: a PGlite directory,
  // or a database of its own on the CI PostgreSQL.
  const shared: Record<string, string> = TEST_DATABASE_URL
    ? { DATABASE_URL: Object.assign(new URL(TEST_DATABASE_URL), { pathname: `/${pgName}` }).toString() }
    : { EMBEDDED_DB_PATH: join(dir, 'db') };

  beforeAll(async () => {
    if (TEST_DATABASE_URL) await onServer(`CREATE DATABASE "${pgName}"`);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (TEST_DATABASE_URL) await onServer(`DROP DATABASE IF EXISTS "${pgName}"`);
  });

  it('re-encrypts every key under the new ENCRYPTION_KEY, readable afterwards without the previous one', async () => {
    const before = await createTestApp({ env: { ...shared, ENCRYPTION_KEY: KEY_A } });
    const user = await registerUser(before);
    await before.http().post('/api/profile/api-keys').set(user.auth).send({ openai: 'sk-rotate-openai-1234', google: 'AIza-rotate-5678' }).expect(200);
    await before.close();

    const during = await createTestApp({ env: { ...shared, ENCRYPTION_KEY: KEY_B, ENCRYPTION_KEY_PREVIOUS: KEY_A } });
    const rotated = await during.app.get(ProfileService).reencryptKeys();
    expect(rotated).toBeGreaterThanOrEqual(2);
    const rows = await during.app.get(PrismaService).providerKey.findMany({ where: { userId: user.user.id } });
    expect(await during.app.get(ProfileService).reencryptKeys()).toBe(0);
    await during.close();

    const onlyNew = new KeyVault(KEY_B);
    const opened = Object.fromEntries(rows.map((r) => [r.provider, onlyNew.open(r, `${user.user.id}:${r.provider}`)]));
    expect(opened).toEqual({ openai: 'sk-rotate-openai-1234', google: 'AIza-rotate-5678' });
    expect(rows.every((r) => r.keyVersion === onlyNew.currentVersion)).toBe(true);
  });
});
