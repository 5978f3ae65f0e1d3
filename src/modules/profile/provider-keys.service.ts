import { Injectable } from '@nestjs/common';
import { CredentialCache } from '../../infra/cache/credential-cache';
import { KeyVault } from '../../infra/crypto/key-vault';
import { KeyProvider } from './profile.dto';
import { ProfileRepository } from './profile.repository';

/** The owner and provider a ciphertext is bound to (GCM associated data): a row copied to another user does not open. */
export const keyContext = (userId: string, provider: string) => `${userId}:${provider}`;

/** Users' provider keys for model calls: decrypted only for the call, and `lastUsed` kept. */
@Injectable()
export class ProviderKeysService {
  constructor(
    private readonly repository: ProfileRepository,
    private readonly vault: KeyVault,
    private readonly cache: CredentialCache,
  ) {}

  /** The user's key rows (still sealed), from the credential cache; the profile drops it on every change. */
  private async rows(userId: string) {
    return (await this.cache.get('keys', userId, async () => ({ userId, value: await this.repository.listKeys(userId) }))) ?? [];
  }

  async configured(userId: string): Promise<Set<KeyProvider>> {
    return new Set((await this.rows(userId)).map((k) => k.provider as KeyProvider));
  }

  /** The user's key for `provider`, or undefined; marks it used. */
  async keyForCall(userId: string, provider: KeyProvider): Promise<string | undefined> {
    const row = (await this.rows(userId)).find((k) => k.provider === provider);
    if (!row) return undefined;
    const key = this.vault.open(row, keyContext(userId, provider));
    // lastUsed is shown to users: a minute's precision spares a write per call.
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      row.lastUsedAt = new Date();
      await this.repository.touchKey(row.id);
    }
    return key;
  }
}
