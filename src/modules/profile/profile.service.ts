import { Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { AuthUser } from '../../common/decorators/current-user.decorator';
import { AppException } from '../../common/errors/app.exception';
import { definedFields } from '../../common/http/optional';
import { ProviderKey, User } from '../../infra/database/generated/client';
import { KeyVault } from '../../infra/crypto/key-vault';
import { AuditAction, AuditService } from '../audit/audit.service';
import { UsersRepository } from '../auth/users.repository';
import { ProviderKeyVerifier } from './key-verifier';
import {
  ApiKeysResultDto,
  ApiKeysStatusDto,
  KEY_PROVIDERS,
  KeyProvider,
  ProfileUserDto,
  SetApiKeysDto,
  SettingsDto,
  UpdatedProfileUserDto,
  UpdateProfileDto,
} from './profile.dto';
import { ProfileRepository } from './profile.repository';
import { keyContext } from './provider-keys.service';
import { CredentialCache } from '../../infra/cache/credential-cache';


@Injectable()
export class ProfileService {
  private readonly logger = new Logger('Profile');

  constructor(
    private readonly users: UsersRepository,
    private readonly repository: ProfileRepository,
    private readonly vault: KeyVault,
    private readonly verifier: ProviderKeyVerifier,
    private readonly audit: AuditService,
    private readonly credentialCache: CredentialCache,
  ) {}

  async get(actor: AuthUser): Promise<ProfileUserDto> {
    const user = await this.requireUser(actor.id);
    const keys = await this.repository.listKeys(user.id);
    return { ...this.summary(user), role: user.role, createdAt: user.createdAt, apiKeys: keyStatus(keys) };
  }

  async update(actor: AuthUser, dto: UpdateProfileDto): Promise<UpdatedProfileUserDto> {
    const user = await this.requireUser(actor.id);
    const settings = { ...settingsOf(user), ...(dto.settings ? definedFields(dto.settings) : {}) };
    const updated = await this.users.update(user.id, {
      ...(dto.displayName !== undefined ? { displayName: dto.displayName.trim() || null } : {}),
      ...(dto.settings ? { settings: settings as object } : {}),
    });
    return this.summary(updated);
  }

  async setKeys(actor: AuthUser, dto: SetApiKeysDto, req: Request): Promise<ApiKeysResultDto> {
    const submitted = KEY_PROVIDERS.filter((p) => dto[p] !== undefined).map((p) => [p, dto[p]!] as const);
    if (!submitted.length) {
      throw AppException.validation('Invalid request parameters', { fields: { body: [`give at least one of ${KEY_PROVIDERS.join(', ')}`] } });
    }
    const result: ApiKeysResultDto = { updated: [], verified: {}, reasons: {} };
    for (const [provider, key] of submitted) {
      await this.repository.upsertKey(actor.id, provider, { ...this.vault.seal(key, keyContext(actor.id, provider)), last4: key.slice(-4) });
      result.updated.push(provider);
      const check = await this.verifier.verify(provider, key);
      result.verified[provider] = check.verified;
      if (!check.verified && check.reason) result.reasons[provider] = check.reason;
      await this.audit.record(req, { action: AuditAction.ProviderKeyAdded, actorId: actor.id, target: provider, metadata: { verified: check.verified } });
    }
    await this.credentialCache.forgetUser(actor.id);
    return result;
  }

  async deleteKey(actor: AuthUser, provider: KeyProvider, req: Request): Promise<void> {
    if (!(await this.repository.deleteKey(actor.id, provider))) throw AppException.notFound('API key');
    await this.credentialCache.forgetUser(actor.id);
    await this.audit.record(req, { action: AuditAction.ProviderKeyRemoved, actorId: actor.id, target: provider });
  }

  /** Re-encrypts every provider key still under a previous master key. Returns how many. */
  async reencryptKeys(batchSize = 100): Promise<number> {
    let done = 0;
    for (;;) {
      const batch = await this.repository.keysNotUnder(this.vault.currentVersion, batchSize);
      if (!batch.length) return done;
      for (const row of batch) {
        const sealed = this.vault.reseal(row, keyContext(row.userId, row.provider));
        await this.repository.updateSealed(row.id, sealed);
        done++;
      }
      this.logger.log(`Re-encrypted ${done} provider key(s) so far`);
    }
  }

  private async requireUser(id: string): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw AppException.notFound('User');
    return user;
  }

  private summary(user: User): UpdatedProfileUserDto {
    return { id: user.id, username: user.username, displayName: user.displayName, settings: settingsOf(user) };
  }
}

function settingsOf(user: User): SettingsDto {
  const stored = (user.settings ?? {}) as SettingsDto;
  return {
    defaultModel: stored.defaultModel ?? null,
    defaultTemperature: stored.defaultTemperature ?? 0.7,
    systemPrompt: stored.systemPrompt ?? '',
  };
}

function keyStatus(keys: ProviderKey[]): ApiKeysStatusDto {
  const byProvider = new Map(keys.map((k) => [k.provider, k]));
  const status = (provider: KeyProvider) => {
    const key = byProvider.get(provider);
    return key ? { configured: true, lastUsed: key.lastUsedAt, last4: key.last4 } : { configured: false };
  };
  return { claude: status('claude'), openai: status('openai'), google: status('google') };
}
