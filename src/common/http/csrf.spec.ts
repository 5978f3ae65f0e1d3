import { csrfDecision, CsrfInput, normalizeOrigin } from './csrf';

const OWN = 'https://parley.example.com';
const TRUSTED = new Set(['https://app.example.com']);
const decide = (input: Partial<CsrfInput>) =>
  csrfDecision({ method: 'POST', path: '/api/threads', hasAuthorization: false, ownOrigin: OWN, ...input }, TRUSTED);

describe('csrfDecision', () => {
  it.each([
    ['a sibling subdomain', { origin: 'https://evil.example.com' }, 'foreign-origin'],
    ['another site', { origin: 'https://attacker.test' }, 'foreign-origin'],
    ['an opaque origin (sandboxed frame, data: URL)', { origin: 'null' }, 'foreign-origin'],
    ['our host over another scheme', { origin: 'http://parley.example.com' }, 'foreign-origin'],
    ['our host on another port', { origin: 'https://parley.example.com:8443' }, 'foreign-origin'],
    ['several origins in one header', { origin: `${OWN}, https://attacker.test` }, 'foreign-origin'],
    ['Sec-Fetch-Site cross-site without Origin', { secFetchSite: 'cross-site' }, 'cross-site-fetch'],
    ['Sec-Fetch-Site same-site (sibling subdomain) without Origin', { secFetchSite: 'same-site' }, 'cross-site-fetch'],
    ['Sec-Fetch-Site cross-site with our own Origin (contradictory: fails closed)', { origin: OWN, secFetchSite: 'cross-site' }, 'cross-site-fetch'],
    ['a foreign Origin claiming same-origin', { origin: 'https://attacker.test', secFetchSite: 'same-origin' }, 'foreign-origin'],
  ])('refuses a state change from %s', (_name, input, reason) => {
    expect(decide(input)).toEqual({ allowed: false, reason });
  });

  it.each(['PUT', 'PATCH', 'DELETE', 'post'])('checks %s like POST', (method) => {
    expect(decide({ method, origin: 'https://attacker.test' }).allowed).toBe(false);
  });

  it('refuses login and registration from a foreign origin too (login CSRF): cookies are not looked at', () => {
    expect(decide({ path: '/api/login', origin: 'https://attacker.test' }).allowed).toBe(false);
    expect(decide({ path: '/api/register', secFetchSite: 'cross-site' }).allowed).toBe(false);
  });

  it.each(['/api/llm/stream', '/api/llm/stream/', '/API/LLM/Stream'])('checks GET and HEAD %s, which makes a billed call', (path) => {
    expect(decide({ method: 'GET', path, secFetchSite: 'cross-site' })).toEqual({ allowed: false, reason: 'cross-site-fetch' });
    expect(decide({ method: 'HEAD', path, origin: 'https://attacker.test' }).allowed).toBe(false);
  });

  it('leaves other GET, HEAD and OPTIONS requests alone', () => {
    expect(decide({ method: 'GET', path: '/api/threads', secFetchSite: 'cross-site' })).toEqual({ allowed: true, reason: 'not-checked' });
    expect(decide({ method: 'GET', path: '/api/llm/streams', secFetchSite: 'cross-site' }).allowed).toBe(true);
    expect(decide({ method: 'OPTIONS', origin: 'https://attacker.test' }).allowed).toBe(true);
  });

  it.each([
    ['our own origin', { origin: OWN }, 'own-origin'],
    ['our own origin, spelled with the default port and in capitals', { origin: 'HTTPS://Parley.Example.com:443' }, 'own-origin'],
    ['our own origin with Sec-Fetch-Site same-origin', { origin: OWN, secFetchSite: 'same-origin' }, 'own-origin'],
    ['a trusted origin (CORS_ORIGINS), even cross-site', { origin: 'https://app.example.com', secFetchSite: 'cross-site' }, 'trusted-origin'],
    ['Sec-Fetch-Site same-origin without Origin', { secFetchSite: 'same-origin' }, 'same-origin-fetch'],
    ['Sec-Fetch-Site none (typed URL, bookmark)', { method: 'GET', path: '/api/llm/stream', secFetchSite: 'none' }, 'same-origin-fetch'],
    ['no browser headers at all (curl, SDKs)', {}, 'no-browser-headers'],
    ['a bearer token, whatever the origin', { hasAuthorization: true, origin: 'https://attacker.test', secFetchSite: 'cross-site' }, 'bearer'],
  ])('allows %s', (_name, input, reason) => {
    expect(decide(input)).toEqual({ allowed: true, reason });
  });

  it('has no own origin to match when the request has no Host', () => {
    expect(decide({ ownOrigin: undefined, origin: OWN }).allowed).toBe(false);
  });
});

describe('normalizeOrigin', () => {
  it('serializes origins as browsers send them and refuses anything else', () => {
    expect(normalizeOrigin('https://A.example.com:443')).toBe('https://a.example.com');
    expect(normalizeOrigin('http://localhost:3000')).toBe('http://localhost:3000');
    expect(normalizeOrigin('https://app.example.com/')).toBe('https://app.example.com');
    for (const bad of ['null', '', 'https://a.example.com/path', 'https://u:p@a.example.com', 'chrome-extension://abc', 'a.example.com', 'https://a, https://b']) {
      expect(normalizeOrigin(bad)).toBeUndefined();
    }
  });
});
