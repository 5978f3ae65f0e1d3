import { Injectable } from '@nestjs/common';
import { Cursor } from '../../common/http/cursor';
import { Prisma } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

export interface AuditFilter {
  action?: string;
  actorId?: string;
}

@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: Prisma.AuditLogUncheckedCreateInput) {
    return this.prisma.auditLog.create({ data });
  }

  /** Newest first, keyset on (createdAt, id); `limit + 1` rows so the caller knows if there is more. */
  list(filter: AuditFilter, limit: number, after?: Cursor) {
    const where: Prisma.AuditLogWhereInput = {
      ...(filter.action ? { action: filter.action } : {}),
      ...(filter.actorId ? { actorId: filter.actorId } : {}),
      ...(after
        ? { OR: [{ createdAt: { lt: new Date(after.v) } }, { createdAt: new Date(after.v), id: { lt: after.id } }] }
        : {}),
    };
    return this.prisma.auditLog.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      include: { actor: { select: { username: true } } },
    });
  }
}
