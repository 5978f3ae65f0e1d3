import { InMemoryBroadcast } from '../broadcast/in-memory-broadcast';
import { Metrics } from '../metrics/metrics';
import { CredentialCache } from './credential-cache';

async function podsSharing(broadcast = new InMemoryBroadcast()) {
  const pods = [new CredentialCache(broadcast, new Metrics()), new CredentialCache(broadcast, new Metrics())];
  for (const pod of pods) await pod.onModuleInit();
  return pods;
}

describe('CredentialCache', () => {
  it('loads once, then answers from memory', async () => {
    const [cache] = await podsSharing();
    const load = jest.fn(async () => ({ userId: 'alice', value: { row: 1 } }));
    expect(await cache.get('token', 'h1', load)).toEqual({ row: 1 });
    expect(await cache.get('token', 'h1', load)).toEqual({ row: 1 });
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('never caches an unknown credential (guessing fills nothing)', async () => {
    const [cache] = await podsSharing();
    const load = jest.fn(async () => undefined);
    await cache.get('token', 'guess', load);
    await cache.get('token', 'guess', load);
    expect(load).toHaveBeenCalledTimes(2);
  });

  it("drops a user's entries on every pod when their credentials change, and only theirs", async () => {
    const [a, b] = await podsSharing();
    const loads: string[] = [];
    const loader = (userId: string) => async () => (loads.push(userId), { userId, value: userId });
    for (const pod of [a, b]) {
      await pod.get('token', 'alice-token', loader('alice'));
      await pod.get('keys', 'bob', loader('bob'));
    }
    await a.forgetUser('alice');
    await new Promise((resolve) => setImmediate(resolve));
    loads.length = 0;
    for (const pod of [a, b]) {
      await pod.get('token', 'alice-token', loader('alice'));
      await pod.get('keys', 'bob', loader('bob'));
    }
    expect(loads).toEqual(['alice', 'alice']);
  });
});
