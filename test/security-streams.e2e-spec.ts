import { AddressInfo } from 'node:net';
import { sse, SseEvent } from './support/sse';
import { createTestApp, registerUser, SignedIn, TestApp } from './support/test-app';

/**
 * Stream ownership, written as the attack: Bob knows the id of Alice's answer (ids show up
 * in URLs and logs) and asks for it through a thread and model of his own.
 */
describe('Reading another user’s answer by message id (e2e)', () => {
  let t: TestApp;
  let port: number;
  let alice: SignedIn;
  let bob: SignedIn;
  const newThread = async (who: SignedIn) => (await t.http().post('/api/threads').set(who.auth).send({ title: 'T' }).expect(201)).body.data.thread.id as string;
  const resume = (who: SignedIn, threadId: string, modelId: string, messageId: string) =>
    sse(port, 'GET', `/api/threads/${threadId}/models/${modelId}/messages/${messageId}/stream`, { cookie: who.cookies });

  beforeAll(async () => {
    t = await createTestApp({ listen: true, env: { DEMO_TOKEN_DELAY_MS: '30' } });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    [alice, bob] = [await registerUser(t), await registerUser(t)];
  });
  afterAll(() => t.close());

  it('is 404 while the answer is live and after it finished, through Bob’s own thread or another model of Alice’s thread', async () => {
    const [aliceThread, bobThread] = [await newThread(alice), await newThread(bob)];
    let messageId = '';
    const attempts: Array<Promise<{ status: number; events: SseEvent[] }>> = [];
    const answer = await sse(port, 'POST', `/api/threads/${aliceThread}/models/parley-demo/messages`, { cookie: alice.cookies }, { content: 'my secret plans', stream: true }, (e) => {
      if (e.event === 'message_start') {
        messageId = e.data.messageId;
        // While it is live.
        attempts.push(resume(bob, bobThread, 'parley-demo', messageId));
        attempts.push(resume(alice, aliceThread, 'gpt-5.4-mini', messageId));
      }
    });
    expect(answer.events.at(-2)!.event).toBe('message_complete');
    // After it finished (still buffered on the stream bus), and once stored.
    attempts.push(resume(bob, bobThread, 'parley-demo', messageId));
    for (const attempt of await Promise.all(attempts)) {
      expect(attempt.status).toBe(404);
      expect(attempt.events).toEqual([]);
    }
    // Bob cannot cancel it either; Alice reads her own answer.
    const cancel = await t.http().post(`/api/threads/${bobThread}/models/parley-demo/messages/${messageId}/cancel`).set(bob.auth);
    expect(cancel.status).toBe(404);
    const own = await resume(alice, aliceThread, 'parley-demo', messageId);
    expect(own.status).toBe(200);
    expect(own.events.map((e) => e.event)).toContain('message_complete');
  });
});
