import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type Schemas = components['schemas'];
/** The error body of every `/api` route (`{ success: false, error: { code, message, details? } }`). */
export type ErrorEnvelope = Schemas['ErrorEnvelopeDto'];
export type Fetch = (input: Request) => Promise<Response>;

export interface ParleyClientOptions {
  /** Server root, e.g. `http://localhost:3000` (the paths in the spec start with `/api` or `/v1`). */
  baseUrl: string;
  /** Defaults to `globalThis.fetch`. */
  fetch?: Fetch;
  /** Sent with every request (unless the request sets the same header). */
  headers?: Record<string, string>;
  /** A personal token (`pk_…`) or an access JWT, sent as `Authorization: Bearer …`. */
  token?: string;
  /**
   * Keep the session cookies `/api/login` and `/api/register` set and send them back.
   * Node's fetch has no cookie store, so this is what makes sessions work there; browsers
   * keep cookies themselves. Default: on unless `token` is given. Pass another client's
   * `cookies` to share its session.
   */
  cookies?: boolean | CookieJar;
}

/**
 * The `openapi-fetch` client: `GET`, `POST`, `PATCH`… with paths, parameters, bodies and
 * answers typed by the spec (its JSON answers; streams are read with `sse.ts`).
 */
export type ParleyClient = Client<paths, 'application/json'> & { readonly cookies?: CookieJar };

export function createParleyClient(options: ParleyClientOptions): ParleyClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const baseFetch: Fetch = options.fetch ?? ((request) => globalThis.fetch(request));
  const defaults: Record<string, string> = { ...options.headers };
  if (options.token) defaults['Authorization'] = `Bearer ${options.token}`;
  const cookies = options.cookies instanceof CookieJar ? options.cookies : (options.cookies ?? !options.token) ? new CookieJar() : undefined;

  const fetch: Fetch = async (request) => {
    for (const [name, value] of Object.entries(defaults)) if (!request.headers.has(name)) request.headers.set(name, value);
    const cookie = cookies?.header(request.url);
    if (cookie && !request.headers.has('cookie')) request.headers.set('cookie', cookie);
    const response = await baseFetch(request);
    cookies?.store(response.headers.getSetCookie(), request.url);
    return response;
  };
  return Object.assign(createClient<paths, 'application/json'>({ baseUrl, fetch }), { cookies });
}

/**
 * The smallest cookie jar that serves Parley's sessions: one origin, cookies told apart by
 * name and `Path` (the refresh cookie is set twice, for `/api/refresh` and `/api/logout`),
 * `Max-Age=0`/past `Expires` deletes.
 */
export class CookieJar {
  /** Keyed by `name path`. */
  private readonly cookies = new Map<string, { name: string; value: string; path: string; expires?: number }>();

  store(setCookie: string[], url: string): void {
    for (const line of setCookie) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      let path = new URL(url).pathname.replace(/\/[^/]*$/, '') || '/';
      let expires: number | undefined;
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split(/=(.*)/s);
        if (/^path$/i.test(key) && value.startsWith('/')) path = value;
        else if (/^max-age$/i.test(key)) expires = Date.now() + Number(value) * 1000;
        else if (/^expires$/i.test(key) && expires === undefined) expires = Date.parse(value);
      }
      const key = `${name} ${path}`;
      if (expires !== undefined && expires <= Date.now()) this.cookies.delete(key);
      else this.cookies.set(key, { name, value: pair.slice(eq + 1), path, expires });
    }
  }

  /** The `Cookie` header for a request to `url`, or undefined when no cookie applies. */
  header(url: string): string | undefined {
    const path = new URL(url).pathname;
    const now = Date.now();
    const sent: string[] = [];
    for (const [key, c] of this.cookies) {
      if (c.expires !== undefined && c.expires <= now) this.cookies.delete(key);
      else if (path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)) sent.push(`${c.name}=${c.value}`);
    }
    return sent.length ? sent.join('; ') : undefined;
  }

  clear(): void {
    this.cookies.clear();
  }
}
