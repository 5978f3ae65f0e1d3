import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `check` every `everyMs` until it gives a truthy value (returned), failing after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
