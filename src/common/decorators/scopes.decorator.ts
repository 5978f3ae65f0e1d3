import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';

/**
 * What a personal API token (pk_…) may do. Signed-in sessions hold every scope; a token
 * holds the scopes it was created with, and never more than these.
 * - `models`: model calls (the /v1 gateway, /api/llm, the model catalogue and loading)
 * - `threads:read`: read threads, messages, their streams and usage
 * - `threads:write`: create, rename and delete threads; send and cancel messages; summarize
 */
export const TOKEN_SCOPES = ['models', 'threads:read', 'threads:write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const SCOPES = 'parley:scopes';
/**
 * The scopes a personal token needs on this route (all of them); a handler's list replaces
 * its controller's. A route without @Scopes is refused to personal tokens (403): only
 * signed-in sessions reach it, so a new route cannot leak to tokens by omission.
 */
export const Scopes = (...scopes: [TokenScope, ...TokenScope[]]) =>
  applyDecorators(SetMetadata(SCOPES, scopes), ApiExtension('x-token-scopes', scopes));

export const SESSION_ONLY = 'parley:session-only';
/**
 * Refuses personal tokens whatever their scopes, even where a handler declares @Scopes:
 * credential management (tokens, provider keys, password) and administration.
 */
export const SessionOnly = () => SetMetadata(SESSION_ONLY, true);
