import { Controller, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthUser, Roles } from '../../common/decorators/current-user.decorator';
import { Public } from '../../common/decorators/public.decorator';
import { Scopes, SessionOnly, TOKEN_SCOPES, TokenScope } from '../../common/decorators/scopes.decorator';
import { accessDenial, RoutePolicy, routePolicy, SESSION_ONLY_MESSAGE } from './access-policy';

const session = (role: AuthUser['role'] = 'user'): AuthUser => ({ id: 'u1', username: 'u1', role, via: 'session', sessionId: 's1', scopes: TOKEN_SCOPES });
const token = (scopes: TokenScope[], role: AuthUser['role'] = 'user'): AuthUser => ({ id: 'u1', username: 'u1', role, via: 'token', tokenId: 't1', scopes });
const policy = (p: Partial<RoutePolicy> = {}): RoutePolicy => ({ isPublic: false, identifyCaller: false, roles: [], sessionOnly: false, ...p });

describe('accessDenial (what a caller may do on a route)', () => {
  it('lets sessions use every route their role allows, scoped or not', () => {
    expect(accessDenial(session(), policy())).toBeNull();
    expect(accessDenial(session(), policy({ scopes: ['threads:write'] }))).toBeNull();
    expect(accessDenial(session(), policy({ sessionOnly: true }))).toBeNull();
    expect(accessDenial(session('admin'), policy({ roles: ['admin'], sessionOnly: true }))).toBeNull();
    expect(accessDenial(session(), policy({ roles: ['admin'] }))).toEqual({ message: 'You do not have access to this resource' });
  });

  it('lets a token use a route when it holds every scope the route declares', () => {
    expect(accessDenial(token(['threads:read']), policy({ scopes: ['threads:read'] }))).toBeNull();
    expect(accessDenial(token([...TOKEN_SCOPES]), policy({ scopes: ['models', 'threads:write'] }))).toBeNull();
  });

  it('refuses a token missing a scope, naming it', () => {
    expect(accessDenial(token(['threads:read']), policy({ scopes: ['threads:write'] }))).toEqual({
      message: 'This token lacks the scope threads:write',
      details: { requiredScopes: ['threads:write'], missingScopes: ['threads:write'] },
    });
    expect(accessDenial(token(['threads:read']), policy({ scopes: ['models', 'threads:write'] }))?.message).toBe(
      'This token lacks the scopes models, threads:write',
    );
    expect(accessDenial({ ...token([]), scopes: undefined }, policy({ scopes: ['models'] }))?.message).toBe('This token lacks the scope models');
  });

  it('refuses tokens on routes that declare no scope (the safe default), whatever the token holds', () => {
    expect(accessDenial(token([...TOKEN_SCOPES]), policy())).toEqual({ message: SESSION_ONLY_MESSAGE });
  });

  it('refuses tokens on session-only routes even when the route also declares scopes', () => {
    expect(accessDenial(token([...TOKEN_SCOPES]), policy({ scopes: ['models'], sessionOnly: true }))).toEqual({ message: SESSION_ONLY_MESSAGE });
  });

  it("refuses an admin's token on admin routes, and a user's token there as any user is refused", () => {
    expect(accessDenial(token([...TOKEN_SCOPES], 'admin'), policy({ roles: ['admin'], scopes: ['models'] }))).toEqual({ message: SESSION_ONLY_MESSAGE });
    expect(accessDenial(token([...TOKEN_SCOPES], 'user'), policy({ roles: ['admin'] }))).toEqual({ message: 'You do not have access to this resource' });
  });
});

describe('routePolicy (reading the decorators)', () => {
  @Controller('scoped')
  @Scopes('threads:read')
  class ScopedController {
    @Get()
    inherits() {}
    @Get('w')
    @Scopes('threads:write', 'models')
    overrides() {}
    @Get('s')
    @SessionOnly()
    sessionOnly() {}
  }

  @Controller('closed')
  @SessionOnly()
  @Roles('admin')
  class SessionOnlyController {
    @Get()
    @Scopes('models')
    reopened() {}
  }

  @Controller('open')
  class OpenController {
    @Get()
    undeclared() {}
    @Get('p')
    @Public()
    anonymous() {}
    @Get('i')
    @Public({ identifyCaller: true })
    identifies() {}
  }

  const reflector = new Reflector();
  const of = (cls: Function & { prototype: object }, method: string) => routePolicy(reflector, [(cls.prototype as Record<string, Function>)[method], cls]);

  it("takes a handler's scopes over its controller's", () => {
    expect(of(ScopedController, 'inherits')).toMatchObject({ scopes: ['threads:read'], sessionOnly: false });
    expect(of(ScopedController, 'overrides')).toMatchObject({ scopes: ['threads:write', 'models'], sessionOnly: false });
  });

  it('makes a route session-only from either level; a handler cannot reopen a session-only controller', () => {
    expect(of(ScopedController, 'sessionOnly')).toMatchObject({ sessionOnly: true });
    const closed = of(SessionOnlyController, 'reopened');
    expect(closed).toMatchObject({ sessionOnly: true, roles: ['admin'], scopes: ['models'] });
    expect(accessDenial(token([...TOKEN_SCOPES], 'admin'), closed)).toEqual({ message: SESSION_ONLY_MESSAGE });
  });

  it('reads no scopes on an undeclared route, and public routes identify no caller unless they ask', () => {
    expect(of(OpenController, 'undeclared')).toEqual({ isPublic: false, identifyCaller: false, roles: [], scopes: undefined, sessionOnly: false });
    expect(of(OpenController, 'anonymous')).toMatchObject({ isPublic: true, identifyCaller: false });
    expect(of(OpenController, 'identifies')).toMatchObject({ isPublic: true, identifyCaller: true });
  });
});
