import { Injectable } from '@nestjs/common';
import { Prisma, ResponseStatus } from '../../../infra/database/generated/client';
import { PrismaService } from '../../../infra/database/prisma.service';

/** A stored Responses API answer, its JSON columns typed by the caller (responses-wire.ts). */
export interface StoredResponseRow {
  id: string;
  userId: string;
  modelId: string;
  status: ResponseStatus;
  input: unknown[];
  output: unknown[];
  params: Record<string, unknown>;
  usage: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
  incompleteReason: string | null;
  previousResponseId: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

const json = (value: unknown) => value as Prisma.InputJsonValue;

/** The only Prisma user for stored responses (`store: true` on /v1/responses). */
@Injectable()
export class ResponsesRepository {
  constructor(private readonly prisma: PrismaService) {}

  async insert(row: Omit<StoredResponseRow, 'createdAt'> & { createdAt?: Date }): Promise<void> {
    await this.prisma.storedResponse.create({
      data: {
        ...row,
        input: json(row.input),
        output: json(row.output),
        params: json(row.params),
        usage: row.usage ? json(row.usage) : Prisma.DbNull,
        error: row.error ? json(row.error) : Prisma.DbNull,
      },
    });
  }

  /** The response if this user stored it; anyone else's is indistinguishable from a missing one. */
  async findOwned(userId: string, id: string): Promise<StoredResponseRow | null> {
    const row = await this.prisma.storedResponse.findFirst({ where: { id, userId } });
    return row as StoredResponseRow | null;
  }
}
