import { Injectable } from '@nestjs/common';
import { Cursor } from '../../common/http/cursor';
import { Prisma, User } from '../../infra/database/generated/client';
import { PrismaService } from '../../infra/database/prisma.service';

/** Users aggregate: the only place that queries the users table. */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  findById(id: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  findByUsername(username: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { username } });
  }

  count(): Promise<number> {
    return this.prisma.user.count();
  }

  create(data: Prisma.UserCreateInput): Promise<User> {
    return this.prisma.user.create({ data });
  }

  update(id: string, data: Prisma.UserUpdateInput): Promise<User> {
    return this.prisma.user.update({ where: { id }, data });
  }

  delete(id: string): Promise<User> {
    return this.prisma.user.delete({ where: { id } });
  }

  /** Newest first, keyset on (createdAt, id), `limit + 1` rows. */
  list(limit: number, after?: Cursor, search?: string): Promise<User[]> {
    return this.prisma.user.findMany({
      where: {
        ...(search ? { username: { contains: search.toLowerCase() } } : {}),
        ...(after
          ? { OR: [{ createdAt: { lt: new Date(after.v) } }, { createdAt: new Date(after.v), id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
  }
}
