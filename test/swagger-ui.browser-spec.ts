import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { createTestApp, DEFAULT_PASSWORD, registerUser, SignedIn, TestApp } from './support/test-app';

/**
 * Swagger UI in a real browser: Debian's chromium (installed by .ci/run; never a
 * downloaded one), driven by playwright-core, against the real app listening on a port,
 * under the Content-Security-Policy it serves /api/docs with.
 * Run with `npm run test:browser`; not part of `npm test`.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** Where CI collects artifacts from (gitignored). */
const ARTIFACTS = resolve(__dirname, '..', 'test-artifacts');
const FAILURE_SCREENSHOT = join(ARTIFACTS, 'swagger-ui-failure.png');

jest.setTimeout(120_000);

let t: TestApp;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
let base: string;
let user: SignedIn;
const threadTitle = `Browser-made thread ${Date.now()}`;
/** Everything that would show Swagger UI broken: CSP violations, console errors, page errors. */
const consoleErrors: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  t = await createTestApp({ listen: true });
  base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  user = await registerUser(t);
  await t.http().post('/api/threads').set(user.auth).send({ title: threadTitle }).expect(201);

  // launchPersistentContext is playwright's way to pass a --user-data-dir: a fresh one per run.
  userDataDir = mkdtempSync(join(tmpdir(), 'parley-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = context.pages()[0] ?? (await context.newPage());
  // Runs before the page's own scripts (and outside its CSP): records every violation report.
  // (A string: this runs in the page, and the project compiles without the DOM types.)
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => (window.__csp ??= []).push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));",
  });
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await t?.close();
});

/** Runs a step; on failure, saves a screenshot of the page for CI's artifacts first. */
async function withScreenshot(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page?.screenshot({ path: FAILURE_SCREENSHOT, fullPage: true }).catch(() => undefined);
    throw error;
  }
}

/** Expands an operation (`#operations-<tag>-<operationId>`) and presses "Try it out". */
async function tryItOut(tag: string, operationId: string): Promise<Locator> {
  const op = page.locator(`#operations-${tag}-${operationId}`);
  await op.locator('.opblock-summary').first().click();
  await op.locator('button.try-out__btn').click();
  return op;
}

/** Executes an expanded operation and returns its live response's status and body text. */
async function execute(op: Locator): Promise<{ status: string; body: string }> {
  await op.locator('button.execute').click();
  const response = op.locator('.live-responses-table .response').first();
  await response.waitFor();
  const status = (await response.locator('.response-col_status').innerText()).trim();
  const body = await response.locator('.response-col_description pre').first().innerText();
  return { status, body };
}

it('signs in with "Try it out", then shows the profile and threads of that user, under the docs CSP', async () => {
  await withScreenshot(async () => {
    const docs = await page.goto(`${base}/api/docs`);
    expect(docs?.status()).toBe(200);
    expect(docs?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('#operations-auth-authLogin').waitFor({ timeout: 30_000 });

    // POST /api/login: the credentials typed explicitly over whatever example is pre-filled.
    const loginOp = await tryItOut('auth', 'authLogin');
    await loginOp.locator('textarea.body-param__text').fill(JSON.stringify({ username: user.user.username, password: DEFAULT_PASSWORD }, null, 2));
    const login = await execute(loginOp);
    expect(login.status).toBe('200');
    expect(login.body).toContain(user.user.username);
    // The session cookies are now the browser's (httpOnly: not visible to the page).
    expect((await context.cookies([`${base}/`, `${base}/api/refresh`])).map((c) => c.name)).toEqual(expect.arrayContaining(['access_token', 'refresh_token']));

    // GET /api/profile with its pre-filled values: the signed-in user's data.
    const profile = await execute(await tryItOut('profile', 'profileGet'));
    expect(profile.status).toBe('200');
    expect(profile.body).toContain(`"username": "${user.user.username}"`);

    // GET /api/threads with its pre-filled values: the thread this user made before.
    const threads = await execute(await tryItOut('threads', 'threadsList'));
    expect(threads.status).toBe('200');
    expect(threads.body).toContain(threadTitle);

    // Swagger UI ran under its CSP without a single violation or script error.
    expect(await page.evaluate<string[]>('window.__csp ?? []')).toEqual([]);
    expect(consoleErrors.filter((m) => /content security policy|refused to/i.test(m))).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
