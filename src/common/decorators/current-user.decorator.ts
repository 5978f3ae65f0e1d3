import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { TokenScope } from './scopes.decorator';

export type Role = 'user' | 'admin';

/** Who a request acts for, set by the auth guard (its passport strategies). */
export interface AuthUser {
  id: string;
  username: string;
  role: Role;
  /** `session`: access JWT (cookie or bearer); `token`: a personal API token (pk_…). */
  via: 'session' | 'token';
  /** Refresh-token family of the session, for logout. */
  sessionId?: string;
  tokenId?: string;
  /** What a personal token may do (via `token`); sessions hold every scope. */
  scopes?: readonly TokenScope[];
}

export type AuthenticatedRequest = Request & { user?: AuthUser };

/** The signed-in user; the guard guarantees it on non-public routes. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AuthUser => context.switchToHttp().getRequest<AuthenticatedRequest>().user!,
);

export const ROLES = 'parley:roles';
/** Restricts a route to the given roles (403 FORBIDDEN otherwise). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);
