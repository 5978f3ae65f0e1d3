import { Injectable } from '@nestjs/common';
import { Prisma, ProviderKey } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

/** Provider keys (BYOK): the only place that touches provider_keys. */
@Injectable()
export class ProfileRepository {
  constructor(private readonly prisma: PrismaService) {}

  listKeys(userId: string): Promise<ProviderKey[]> {
    return this.prisma.providerKey.findMany({ where: { userId } });
  }

  upsertKey(userId: string, provider: string, data: Omit<Prisma.ProviderKeyUncheckedCreateInput, 'userId' | 'provider'>): Promise<ProviderKey> {
    return this.prisma.providerKey.upsert({
      where: { userId_provider: { userId, provider } },
      create: { ...data, userId, provider },
      update: { ...data, lastUsedAt: null },
    });
  }

  async deleteKey(userId: string, provider: string): Promise<boolean> {
    const { count } = await this.prisma.providerKey.deleteMany({ where: { userId, provider } });
    return count === 1;
  }

  touchKey(id: string): Promise<ProviderKey> {
    return this.prisma.providerKey.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }

  /** Keys sealed under another master key than `currentVersion`, a batch at a time. */
  keysNotUnder(currentVersion: string, take: number): Promise<ProviderKey[]> {
    return this.prisma.providerKey.findMany({ where: { keyVersion: { not: currentVersion } }, take, orderBy: { id: 'asc' } });
  }

  updateSealed(id: string, sealed: Pick<ProviderKey, 'ciphertext' | 'iv' | 'authTag' | 'keyVersion'>): Promise<ProviderKey> {
    return this.prisma.providerKey.update({ where: { id }, data: sealed });
  }
}
