import type { Reflector } from '@nestjs/core';
import { IDENTIFY_CALLER, IS_PUBLIC } from '../../common/decorators/public.decorator';
import { AuthUser, Role, ROLES } from '../../common/decorators/current-user.decorator';
import { SCOPES, SESSION_ONLY, TokenScope } from '../../common/decorators/scopes.decorator';

/** What a route's decorators ask of its caller (a handler's own decorators win over its controller's). */
export interface RoutePolicy {
  /** @Public(): no credential needed, and none looked at unless `identifyCaller`. */
  isPublic: boolean;
  identifyCaller: boolean;
  /** @Roles(): empty = any role. */
  roles: Role[];
  /** @Scopes(): what a personal token needs; undefined = personal tokens are refused. */
  scopes?: TokenScope[];
  /** @SessionOnly(): personal tokens are refused whatever their scopes. */
  sessionOnly: boolean;
}

export function routePolicy(reflector: Reflector, targets: [Function, Function]): RoutePolicy {
  return {
    isPublic: reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) === true,
    identifyCaller: reflector.getAllAndOverride<boolean>(IDENTIFY_CALLER, targets) === true,
    roles: reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets) ?? [],
    scopes: reflector.getAllAndOverride<TokenScope[] | undefined>(SCOPES, targets),
    // Either level refuses tokens: a handler's @Scopes cannot reopen a session-only controller.
    sessionOnly: targets.some((t) => reflector.get<boolean>(SESSION_ONLY, t) === true),
  };
}

export interface AccessDenial {
  message: string;
  details?: Record<string, unknown>;
}

export const SESSION_ONLY_MESSAGE = 'Personal API tokens cannot use this route; it needs a signed-in session';

/**
 * The one decision of what an authenticated caller may do on a route, or why not (403).
 * Sessions are limited by role only. Personal tokens also need every scope the route
 * declares, and never reach a route that declares none, a session-only route (credential
 * management) or an admin route, whatever their scopes and their owner's role.
 */
export function accessDenial(user: AuthUser, policy: Pick<RoutePolicy, 'roles' | 'scopes' | 'sessionOnly'>): AccessDenial | null {
  if (policy.roles.length && !policy.roles.includes(user.role)) return { message: 'You do not have access to this resource' };
  if (user.via === 'session') return null;
  if (policy.sessionOnly || policy.roles.includes('admin') || !policy.scopes?.length) return { message: SESSION_ONLY_MESSAGE };
  const held = user.scopes ?? [];
  const missing = policy.scopes.filter((s) => !held.includes(s));
  if (!missing.length) return null;
  return {
    message: `This token lacks the ${missing.length > 1 ? 'scopes' : 'scope'} ${missing.join(', ')}`,
    details: { requiredScopes: policy.scopes, missingScopes: missing },
  };
}
