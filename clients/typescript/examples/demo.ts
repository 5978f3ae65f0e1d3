// A tour of the typed client against a running Parley: sign in, the profile, a session
// refresh, a thread, a message sent whole and streamed, a streamed answer that survives a
// dropped connection, a rename, threads paged with their cursor, and sign-out.
// Environment: PARLEY_URL (default http://localhost:3000), PARLEY_MODEL (default
// parley-demo, the offline demo model), PARLEY_USERNAME/PARLEY_PASSWORD (default the demo
// account; a fresh user is registered when that sign-in fails).
import { createParleyClient, streamMessage, type Fetch, type ParleyClient } from '../src/index.js';

const baseUrl = process.env.PARLEY_URL ?? 'http://localhost:3000';
const model = process.env.PARLEY_MODEL ?? 'parley-demo';

/** openapi-fetch answers `{ data }` or `{ error }`; this demo stops at the first error. */
function ok<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  return result.data;
}

async function signIn(parley: ParleyClient): Promise<string> {
  const username = process.env.PARLEY_USERNAME ?? 'admin@example.com';
  const password = process.env.PARLEY_PASSWORD ?? 'admin123';
  const login = await parley.POST('/api/login', { body: { username, password } });
  if (login.data) return `signed in as ${login.data.data.user.username} (${login.data.data.user.role})`;
  // No demo account (production, ADMIN_EMAIL set, or it changed its password): sign up instead.
  const fresh = `demo-${Date.now()}@example.com`;
  const registered = ok(await parley.POST('/api/register', { body: { username: fresh, password: 'demo-password-123' } }), 'register');
  return `login answered ${login.error.error.code}; registered ${registered.data.user.username}`;
}

async function main(): Promise<void> {
  const parley = createParleyClient({ baseUrl });
  const say = (line: string) => console.log(line);

  say(`> ${await signIn(parley)}`);
  const { user } = ok(await parley.GET('/api/profile'), 'profile').data;
  say(`> profile: ${user.username}, role ${user.role}, display name ${user.displayName ?? '(none)'}`);

  // The refresh_token cookie is scoped to /api/refresh: the jar sends it there only.
  const refreshed = ok(await parley.POST('/api/refresh', { body: {} }), 'refresh').data;
  say(`> session refreshed with the refresh cookie; new access token valid ${refreshed.expiresIn} s`);

  const { thread } = ok(await parley.POST('/api/threads', { body: { title: 'Typed client demo' } }), 'create thread').data;
  say(`> created thread "${thread.title}" (${thread.id})`);
  const path = { threadId: thread.id, modelId: model };

  const question = 'What is Parley?';
  const exchange = ok(await parley.POST('/api/threads/{threadId}/models/{modelId}/messages', { params: { path }, body: { content: question } }), 'send').data;
  say(`you: ${question}`);
  say(`${model}: ${exchange.assistantMessage.content} [${exchange.assistantMessage.tokens} tokens]`);

  const streamed = 'Stream the answer, please.';
  say(`you: ${streamed}`);
  process.stdout.write(`${model} (streamed): `);
  let tokens = 0;
  for await (const e of streamMessage(parley, { ...path, content: streamed })) {
    if (e.event === 'token') {
      tokens++;
      process.stdout.write(e.data.token);
    } else if (e.event === 'message_complete') say(` [${tokens} token events, ${e.data.totalTokens} tokens, ${e.data.finishReason ?? 'finished'}]`);
    else if (e.event === 'error') throw new Error(`answer failed: ${e.data.code} ${e.data.message}`);
  }

  // A flaky network: the same session, but the first streamed answer breaks after its first token.
  const flaky = createParleyClient({ baseUrl, cookies: parley.cookies, fetch: dropAfterFirstToken });
  const stream = streamMessage(flaky, { ...path, content: 'Once more, over a bad connection.' }, { retryDelayMs: 50 });
  let text = '';
  for await (const e of stream) {
    if (e.event === 'token') text += e.data.token;
    if (e.event === 'error') throw new Error(`answer failed: ${e.data.code} ${e.data.message}`);
  }
  if (stream.reconnects < 1) throw new Error('the connection was cut but the stream did not resume');
  say(`${model} (dropped, resumed ${stream.reconnects}x with Last-Event-ID, last id ${stream.lastEventId}): ${text}`);

  const renamed = ok(await parley.PATCH('/api/threads/{id}/title', { params: { path: { id: thread.id } }, body: { title: 'Typed client demo (renamed)' } }), 'rename').data;
  say(`> renamed thread to "${renamed.thread.title}"`);

  ok(await parley.POST('/api/threads', { body: { title: 'Another thread' } }), 'create thread');
  // Cursor pagination: follow `pagination.cursor` while `hasMore` (at most 3 pages here).
  let cursor: string | undefined;
  for (let page = 1; page <= 3; page++) {
    const list = ok(await parley.GET('/api/threads', { params: { query: { limit: 1, cursor } } }), 'list threads');
    say(`> threads page ${page}: ${list.data.threads.map((t) => `"${t.title}" (${t.messageCount} messages)`).join(', ') || '(none)'}`);
    if (!list.pagination.hasMore || !list.pagination.cursor) break;
    cursor = list.pagination.cursor;
  }
  ok(await parley.POST('/api/logout', { body: {} }), 'logout');
  const after = await parley.GET('/api/profile');
  if (after.response.status !== 401) throw new Error(`after logout the profile answered ${after.response.status}`);
  say(`> signed out; the profile now answers ${after.response.status} ${after.error?.error.code}`);
}

/** Wraps fetch so the first streamed POST answer ends right after its first `token` event. */
let dropped = false;
const dropAfterFirstToken: Fetch = async (request) => {
  const response = await fetch(request);
  if (dropped || request.method !== 'POST' || !response.body || !response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
  dropped = true;
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let seen = '';
  let passed = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = await reader.read();
      if (chunk.done) return controller.close();
      seen += decoder.decode(chunk.value, { stream: true });
      const token = seen.indexOf('event: token');
      const end = token < 0 ? -1 : seen.indexOf('\n\n', token);
      controller.enqueue(new TextEncoder().encode(seen.slice(passed, end < 0 ? undefined : end + 2)));
      passed = end < 0 ? seen.length : end + 2;
      if (end >= 0) {
        await reader.cancel();
        controller.error(new TypeError('network connection lost (simulated)'));
      }
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
