import { Injectable } from '@nestjs/common';
import { ApiToken, Prisma, RefreshToken, User } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

/** Refresh tokens and personal API tokens: hashed secrets that stand for a user. */
@Injectable()
export class CredentialsRepository {
  constructor(private readonly prisma: PrismaService) {}

  createRefreshToken(data: Prisma.RefreshTokenUncheckedCreateInput): Promise<RefreshToken> {
    return this.prisma.refreshToken.create({ data });
  }

  findRefreshToken(tokenHash: string): Promise<RefreshToken | null> {
    return this.prisma.refreshToken.findUnique({ where: { tokenHash } });
  }

  /** Marks a token rotated unless it already was: false means someone used it before (reuse). */
  async claimRefreshToken(id: string): Promise<boolean> {
    const { count } = await this.prisma.refreshToken.updateMany({
      where: { id, rotatedAt: null, revokedAt: null },
      data: { rotatedAt: new Date() },
    });
    return count === 1;
  }

  async revokeFamily(familyId: string): Promise<number> {
    const { count } = await this.prisma.refreshToken.updateMany({
      where: { familyId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count;
  }

  /** Ends every session of a user (password change, disable), optionally sparing one family. */
  async revokeUserSessions(userId: string, exceptFamilyId?: string): Promise<number> {
    const { count } = await this.prisma.refreshToken.updateMany({
      where: { userId, revokedAt: null, ...(exceptFamilyId ? { familyId: { not: exceptFamilyId } } : {}) },
      data: { revokedAt: new Date() },
    });
    return count;
  }

  /** Whether any token of the family is still unrevoked, i.e. the sign-in has not ended. */
  async isSessionActive(familyId: string): Promise<boolean> {
    return (await this.prisma.refreshToken.count({ where: { familyId, revokedAt: null } })) > 0;
  }

  /**
   * Creates the token unless the user already holds `max` active (unrevoked, unexpired)
   * ones: null then. Creations of one user are serialized (row lock on the user), so
   * concurrent requests cannot pass the cap together.
   */
  createApiTokenWithinCap(data: Prisma.ApiTokenUncheckedCreateInput, max: number): Promise<ApiToken | null> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${data.userId}::uuid FOR UPDATE`;
      const active = await tx.apiToken.count({
        where: { userId: data.userId, revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] },
      });
      return active >= max ? null : tx.apiToken.create({ data });
    });
  }

  /** The token with its owner, in one query: it runs on every request a program makes. */
  findApiToken(tokenHash: string): Promise<(ApiToken & { user: User }) | null> {
    return this.prisma.apiToken.findUnique({ where: { tokenHash }, include: { user: true } });
  }

  listApiTokens(userId: string): Promise<ApiToken[]> {
    return this.prisma.apiToken.findMany({ where: { userId, revokedAt: null }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  }

  /** Revokes a token of this user; false when there is no such live token. */
  async revokeApiToken(userId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.apiToken.updateMany({ where: { id, userId, revokedAt: null }, data: { revokedAt: new Date() } });
    return count === 1;
  }

  async revokeUserApiTokens(userId: string): Promise<number> {
    const { count } = await this.prisma.apiToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: new Date() } });
    return count;
  }

  touchApiToken(id: string): Promise<unknown> {
    return this.prisma.apiToken.update({ where: { id }, data: { lastUsedAt: new Date() } });
  }
}
