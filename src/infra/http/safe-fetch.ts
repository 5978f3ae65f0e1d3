import { lookup as dnsLookup } from 'node:dns/promises';
import http, { IncomingMessage } from 'node:http';
import https from 'node:https';
import { BlockList, isIP, LookupFunction } from 'node:net';

/**
 * Why a `safeFetch` was refused. `network_error`: the name did not resolve or the server
 * could not be reached (connection refused/reset, TLS failure).
 */
export type SafeFetchReason =
  | 'invalid_url'
  | 'blocked_address'
  | 'too_large'
  | 'timeout'
  | 'bad_status'
  | 'bad_content_type'
  | 'too_many_redirects'
  | 'network_error';

/** The only error `safeFetch` throws. Its message names the URL's host, never a resolved private address. */
export class SafeFetchError extends Error {
  constructor(
    readonly reason: SafeFetchReason,
    message: string,
    /** The HTTP status, for `bad_status`. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SafeFetchError';
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface SafeFetchOptions {
  /** Largest body accepted, in bytes (checked against content-length and while streaming). */
  maxBytes: number;
  /** Deadline for the whole fetch: resolution, every redirect hop and the body. */
  timeoutMs: number;
  /** Redirects followed at most; 0 refuses any redirect. */
  maxRedirects: number;
  /** Whether the final response's content type (lower-cased, without parameters; '' when absent) is acceptable. */
  accept?: (contentType: string) => boolean;
  /**
   * Tests only: exact addresses (e.g. a local test server's 127.0.0.1) exempted from the
   * public-address rule. Every other non-public address stays refused.
   */
  allowAddresses?: readonly string[];
  /** Name resolution; default `dns.lookup` (all addresses). Tests inject one. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

export interface SafeFetchResult {
  /** Lower-cased media type without parameters; '' when the server sent none. */
  contentType: string;
  body: Buffer;
}

/**
 * Every range that is not an ordinary public unicast address (IANA special-purpose
 * registries). net.BlockList matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against the IPv4 rules.
 */
const NON_PUBLIC: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'], // "this network", 0.0.0.0 unspecified
  ['10.0.0.0', 8, 'ipv4'], // private
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['127.0.0.0', 8, 'ipv4'], // loopback
  ['169.254.0.0', 16, 'ipv4'], // link-local, cloud metadata 169.254.169.254
  ['172.16.0.0', 12, 'ipv4'], // private
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
  ['192.0.2.0', 24, 'ipv4'], // documentation
  ['192.88.99.0', 24, 'ipv4'], // 6to4 relay anycast
  ['192.168.0.0', 16, 'ipv4'], // private
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'], // documentation
  ['203.0.113.0', 24, 'ipv4'], // documentation
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, 255.255.255.255 broadcast
  ['::', 96, 'ipv6'], // unspecified ::, loopback ::1, IPv4-compatible ::a.b.c.d
  ['64:ff9b::', 96, 'ipv6'], // NAT64 (embeds any IPv4 address)
  ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64
  ['100::', 64, 'ipv6'], // discard
  ['2001::', 23, 'ipv6'], // IETF protocol assignments (Teredo 2001::/32 among them)
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['2002::', 16, 'ipv6'], // 6to4 (embeds any IPv4 address)
  ['fc00::', 7, 'ipv6'], // unique local
  ['fe80::', 10, 'ipv6'], // link-local
  ['fec0::', 10, 'ipv6'], // site-local (deprecated)
  ['ff00::', 8, 'ipv6'], // multicast
];

const nonPublic = new BlockList();
for (const [network, prefix, family] of NON_PUBLIC) nonPublic.addSubnet(network, prefix, family);

const familyName = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** True when `address` (an IP literal) is an ordinary public unicast address. */
export function isPublicAddress(address: string): boolean {
  if (!isIP(address)) return false;
  // ::ffff:0:0/96 (IPv4-mapped) is checked as its IPv4 address by BlockList; the
  // IPv4-mapped range itself is not listed above, so a mapped public address passes.
  return !nonPublic.check(address, familyName(address));
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

async function defaultResolve(hostname: string): Promise<ResolvedAddress[]> {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

/**
 * GETs an http(s) URL that a client gave, without letting it reach Parley's own network
 * (SSRF): the host's addresses must all be public, the connection goes to the address that
 * was checked (no second resolution a DNS rebinding could answer differently), each redirect
 * is checked again, and size, time and content type are bounded.
 */
export async function safeFetch(url: string, options: SafeFetchOptions): Promise<SafeFetchResult> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new SafeFetchError('timeout', `Fetching ${describeUrl(url)} took longer than ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  deadline.catch(() => undefined);
  try {
    return await Promise.race([follow(url, options, controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function follow(start: string, options: SafeFetchOptions, signal: AbortSignal): Promise<SafeFetchResult> {
  let current = parseUrl(start);
  for (let redirects = 0; ; redirects++) {
    const target = await checkedAddress(current, options);
    if (signal.aborted) throw new SafeFetchError('timeout', 'Fetch aborted');
    const response = await request(current, target, signal);
    const status = response.statusCode ?? 0;

    if (REDIRECTS.has(status)) {
      response.destroy();
      const location = response.headers.location;
      if (!location) throw new SafeFetchError('bad_status', `${describeUrl(current)} answered ${status} without a location`, status);
      if (redirects >= options.maxRedirects) {
        throw new SafeFetchError('too_many_redirects', `More than ${options.maxRedirects} redirects from ${describeUrl(start)}`);
      }
      current = parseUrl(location, current);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.destroy();
      throw new SafeFetchError('bad_status', `${describeUrl(current)} answered ${status}`, status);
    }

    const contentType = (response.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (options.accept && !options.accept(contentType)) {
      response.destroy();
      throw new SafeFetchError('bad_content_type', `${describeUrl(current)} sent ${contentType || 'no content type'}`);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBytes) {
      response.destroy();
      throw new SafeFetchError('too_large', `${describeUrl(current)} is larger than ${options.maxBytes} bytes`);
    }
    return { contentType, body: await readBody(response, options.maxBytes, describeUrl(current)) };
  }
}

function parseUrl(value: string, base?: URL): URL {
  let url: URL;
  try {
    url = new URL(value, base);
  } catch {
    throw new SafeFetchError('invalid_url', 'Not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SafeFetchError('invalid_url', `Only http and https URLs can be fetched, not ${url.protocol}`);
  }
  if (!url.hostname) throw new SafeFetchError('invalid_url', 'The URL has no host');
  return url;
}

/** The one address to connect to, after checking every address the host has. */
async function checkedAddress(url: URL, options: SafeFetchOptions): Promise<ResolvedAddress> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) as 4 | 6 }];
  } else {
    try {
      addresses = await (options.resolve ?? defaultResolve)(host);
    } catch {
      throw new SafeFetchError('network_error', `${host} could not be resolved`);
    }
    if (!addresses.length) throw new SafeFetchError('network_error', `${host} could not be resolved`);
  }
  const allowed = new BlockList();
  for (const address of options.allowAddresses ?? []) allowed.addAddress(address, familyName(address));
  for (const { address } of addresses) {
    if (!isIP(address) || (!isPublicAddress(address) && !allowed.check(address, familyName(address)))) {
      throw new SafeFetchError('blocked_address', `${host} is not a public address`);
    }
  }
  return addresses[0];
}

function request(url: URL, target: ResolvedAddress, signal: AbortSignal): Promise<IncomingMessage> {
  // Node resolves the host through this lookup only: it answers with the address checked above.
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [target]);
    else callback(null, target.address, target.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: 'GET',
      lookup,
      agent: false,
      signal,
      headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'Parley' },
    });
    req.on('response', resolve);
    req.on('error', (error: NodeJS.ErrnoException) => {
      reject(
        signal.aborted
          ? new SafeFetchError('timeout', 'Fetch aborted')
          : new SafeFetchError('network_error', `${describeUrl(url)} could not be reached (${error.code ?? 'error'})`),
      );
    });
    req.end();
  });
}

function readBody(response: IncomingMessage, maxBytes: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        response.destroy();
        reject(new SafeFetchError('too_large', `${what} is larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks)));
    const cut = () => reject(new SafeFetchError('network_error', `${what} ended before its body was complete`));
    response.on('error', cut);
    response.on('close', () => {
      if (!response.complete) cut();
    });
  });
}

/** scheme://host[:port] only: paths and queries may carry a client's secrets. */
function describeUrl(url: string | URL): string {
  try {
    const parsed = typeof url === 'string' ? new URL(url) : url;
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return 'the URL';
  }
}
