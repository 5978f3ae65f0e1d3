import { applyDecorators, SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'parley:public';
export const IDENTIFY_CALLER = 'parley:identify-caller';

/**
 * Marks a route as reachable without signing in (the auth guard reads it). The guard then
 * does not look at the request's credentials, so `req.user` stays unset (the rate limiter
 * keys such routes by client IP), unless `identifyCaller` asks it to set `req.user` when a
 * valid credential is present (a missing or invalid one is still no error there).
 */
export const Public = (options: { identifyCaller?: boolean } = {}) =>
  applyDecorators(SetMetadata(IS_PUBLIC, true), ...(options.identifyCaller ? [SetMetadata(IDENTIFY_CALLER, true)] : []));
