import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaService } from '../src/infra/database/prisma.service';
import { createTestApp, registerUser, TestApp } from './support/test-app';

/**
 * The single-process embedded mode has no other pod to finalise a dead process's answers:
 * the next start does it. Simulated by a user message stored without its answer (what a
 * crash mid-answer leaves), then a restart on the same database directory.
 */
describe('Restart in the embedded mode (e2e)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-restart-'));
  const boot = () => createTestApp({ embedded: true, env: { EMBEDDED_DB_PATH: join(dir, 'db'), RATE_LIMITS: 'register=1000' } });
  let t: TestApp | undefined;

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("stores the previous run's unanswered messages as interrupted answers, once", async () => {
    t = await boot();
    const alice = await registerUser(t);
    const threadId = (await t.http().post('/api/threads').set(alice.auth).send({}).expect(201)).body.data.thread.id as string;
    const path = `/api/threads/${threadId}/models/parley-demo/messages`;
    await t.http().post(path).set(alice.auth).send({ content: 'first question' }).expect(200);
    // What a crash mid-answer leaves behind: the user message, no answer.
    await t.app.get(PrismaService).message.create({ data: { threadId, modelId: 'parley-demo', role: 'user', content: 'asked just before the crash', tokens: 6 } });
    await t.close();

    t = await boot();
    const listed = await t.http().get(`${path}?order=asc`).set(alice.auth).expect(200);
    expect(listed.body.data.messages.map((m: { role: string; status: string; errorCode?: string }) => [m.role, m.status, m.errorCode ?? null])).toEqual([
      ['user', 'complete', null],
      ['assistant', 'complete', null],
      ['user', 'complete', null],
      ['assistant', 'interrupted', 'INTERRUPTED'],
    ]);

    // The thread answers again, and nothing is finalised twice on the next start.
    await t.http().post(path).set(alice.auth).send({ content: 'and now?' }).expect(200);
    await t.close();
    t = await boot();
    const again = await t.http().get(path).set(alice.auth).expect(200);
    expect(again.body.data.messages).toHaveLength(6);
  });
});
