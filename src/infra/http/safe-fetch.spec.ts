import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { isPublicAddress, ResolvedAddress, safeFetch, SafeFetchError, SafeFetchOptions } from './safe-fetch';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const isImage = (contentType: string) => contentType.startsWith('image/');
const base: SafeFetchOptions = { maxBytes: 64 * 1024, timeoutMs: 2_000, maxRedirects: 3, accept: isImage };
/** The test server on 127.0.0.1 is the only non-public address these tests may reach. */
const allowed: SafeFetchOptions = { ...base, allowAddresses: ['127.0.0.1'] };

let server: Server;
let origin: string;
let port: number;
const seen: Array<{ url: string; host: string | undefined }> = [];

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/pixel.png': (_req, res) => res.writeHead(200, { 'content-type': 'image/png; charset=binary', 'content-length': PNG.length }).end(PNG),
  '/page.html': (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
  '/missing': (_req, res) => res.writeHead(404).end(),
  '/hop': (_req, res) => res.writeHead(302, { location: '/pixel.png' }).end(),
  '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
  '/to-private': (_req, res) => res.writeHead(302, { location: 'http://10.0.0.1/pixel.png' }).end(),
  '/to-metadata': (_req, res) => res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
  '/to-ipv6-loopback': (_req, res) => res.writeHead(301, { location: `http://[::1]:${port}/pixel.png` }).end(),
  '/to-file': (_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
  // Declares its size: refused before the body is read.
  '/big-declared': (_req, res) => res.writeHead(200, { 'content-type': 'image/png', 'content-length': 200 * 1024 }).end(Buffer.alloc(200 * 1024)),
  // Chunked, no content-length: refused while streaming.
  '/big-chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    for (let i = 0; i < 10; i++) res.write(Buffer.alloc(32 * 1024));
    res.end();
  },
  // Headers at once, then a body that never finishes.
  '/slow': (_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.write(PNG.subarray(0, 8));
  },
  // Never answers at all.
  '/silent': () => undefined,
};

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', host: req.headers.host });
    (routes[req.url ?? ''] ?? routes['/missing'])(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen.length = 0;
});

async function refusal(promise: Promise<unknown>): Promise<SafeFetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SafeFetchError);
  return error as SafeFetchError;
}

const resolveTo =
  (...addresses: string[]) =>
  async (): Promise<ResolvedAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '::1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fc00::1', 'fd12:3456::1',
    '169.254.169.254', '169.254.0.1', 'fe80::1', '0.0.0.0', '::', '100.64.0.1', '100.127.255.254', '224.0.0.1', 'ff02::1',
    '255.255.255.255', '240.0.0.1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:7f00:1',
    '64:ff9b::a00:1', '2002:7f00:1::', 'not-an-ip',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('accepts %s', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });
});

describe('safeFetch', () => {
  it('fetches a small PNG from a server the test allows', async () => {
    const result = await safeFetch(`${origin}/pixel.png`, allowed);
    expect(result.contentType).toBe('image/png');
    expect(result.body.equals(PNG)).toBe(true);
  });

  it('by default refuses the same loopback server, without connecting to it', async () => {
    expect((await refusal(safeFetch(`${origin}/pixel.png`, base))).reason).toBe('blocked_address');
    expect(seen).toEqual([]);
  });

  it.each([
    'http://127.0.0.1/',
    'http://[::1]/',
    'http://10.0.0.1/',
    'http://172.16.5.4/',
    'http://192.168.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://100.64.0.1/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:169.254.169.254]/',
    'http://2130706433/', // 127.0.0.1 as one decimal number
    'http://0x7f.1/', // 127.0.0.1 in shorthand hex
    'https://10.0.0.1/',
  ])('refuses the literal address in %s', async (url) => {
    expect((await refusal(safeFetch(url, base))).reason).toBe('blocked_address');
  });

  it('refuses a host name that resolves to loopback (localhost, real resolver)', async () => {
    expect((await refusal(safeFetch(`http://localhost:${port}/pixel.png`, base))).reason).toBe('blocked_address');
    expect(seen).toEqual([]);
  });

  it.each([
    ['private', ['10.0.0.7']],
    ['link-local (cloud metadata)', ['169.254.169.254']],
    ['IPv6 unique-local', ['fd00::7']],
    ['a public and a private address', ['93.184.216.34', '192.168.1.10']],
    ['a public and an IPv4-mapped loopback address', ['2606:4700::1', '::ffff:127.0.0.1']],
  ])('refuses a host name that resolves to %s', async (_what, addresses) => {
    const error = await refusal(safeFetch('http://images.example/cat.png', { ...base, resolve: resolveTo(...addresses) }));
    expect(error.reason).toBe('blocked_address');
    expect(error.message).not.toMatch(/10\.0\.0\.7|169\.254|192\.168|fd00|127\.0\.0\.1/);
  });

  it('connects to the address it checked, resolving the name only once (no DNS rebinding)', async () => {
    // `img.test` has no DNS entry: the fetch can only succeed by connecting to the checked address.
    const resolve = jest.fn(resolveTo('127.0.0.1'));
    const result = await safeFetch(`http://img.test:${port}/pixel.png`, { ...allowed, resolve });
    expect(result.body.equals(PNG)).toBe(true);
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(seen).toEqual([{ url: '/pixel.png', host: `img.test:${port}` }]);
  });

  it.each(['file:///etc/passwd', 'ftp://example.com/a.png', 'gopher://example.com/', 'not a url', 'http://'])('refuses %s as invalid_url', async (url) => {
    expect((await refusal(safeFetch(url, base))).reason).toBe('invalid_url');
  });

  it('follows a redirect on the allowed server', async () => {
    const result = await safeFetch(`${origin}/hop`, allowed);
    expect(result.body.equals(PNG)).toBe(true);
    expect(seen.map((s) => s.url)).toEqual(['/hop', '/pixel.png']);
  });

  it.each(['/to-private', '/to-metadata', '/to-ipv6-loopback'])('refuses a redirect from the allowed server to a private address (%s)', async (path) => {
    expect((await refusal(safeFetch(`${origin}${path}`, allowed))).reason).toBe('blocked_address');
    expect(seen.map((s) => s.url)).toEqual([path]);
  });

  it('refuses a redirect to a non-http scheme', async () => {
    expect((await refusal(safeFetch(`${origin}/to-file`, allowed))).reason).toBe('invalid_url');
  });

  it('stops after maxRedirects', async () => {
    expect((await refusal(safeFetch(`${origin}/loop`, { ...allowed, maxRedirects: 2 }))).reason).toBe('too_many_redirects');
    expect(seen).toHaveLength(3);
    expect((await refusal(safeFetch(`${origin}/hop`, { ...allowed, maxRedirects: 0 }))).reason).toBe('too_many_redirects');
  });

  it('refuses a body whose content-length is over maxBytes', async () => {
    expect((await refusal(safeFetch(`${origin}/big-declared`, allowed))).reason).toBe('too_large');
  });

  it('refuses a body without content-length once it streams past maxBytes', async () => {
    expect((await refusal(safeFetch(`${origin}/big-chunked`, allowed))).reason).toBe('too_large');
    // The same body fits a larger limit, so it was the streamed size that counted.
    expect((await safeFetch(`${origin}/big-chunked`, { ...allowed, maxBytes: 320 * 1024 })).body).toHaveLength(320 * 1024);
  });

  it.each(['/slow', '/silent'])('gives up on a slow server after timeoutMs (%s)', async (path) => {
    const started = Date.now();
    expect((await refusal(safeFetch(`${origin}${path}`, { ...allowed, timeoutMs: 300 }))).reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses a content type the caller does not accept', async () => {
    expect((await refusal(safeFetch(`${origin}/page.html`, allowed))).reason).toBe('bad_content_type');
  });

  it('refuses a non-2xx status', async () => {
    const error = await refusal(safeFetch(`${origin}/missing`, allowed));
    expect(error).toMatchObject({ reason: 'bad_status', status: 404 });
  });
});
