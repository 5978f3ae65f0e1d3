import { countTokens as exactCount } from 'gpt-tokenizer/encoding/cl100k_base';
import { getEncoding } from 'js-tiktoken';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenCounter } from './token-counter';

const counter = new TokenCounter();
const root = join(__dirname, '..', '..', '..');

/** 1 MB of base64 that is the same on every run. */
function base64Megabyte(): string {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < 750_000; i++) blocks.push(createHash('sha256').update(String(i)).digest());
  return Buffer.concat(blocks).toString('base64').slice(0, 1_000_000);
}

/** 200 KB of real minified JavaScript. */
function minifiedJs(): string {
  const bundle = readFileSync(join(root, 'node_modules/rxjs/dist/bundles/rxjs.umd.min.js'), 'utf8');
  return bundle.repeat(Math.ceil(200_000 / bundle.length)).slice(0, 200_000);
}

/** Ordinary English prose with markdown and code: this project's README. */
const prose = readFileSync(join(root, 'README.md'), 'utf8');

/** Runs `work` while counting how often the event loop got a turn meanwhile. */
async function withEventLoopTurns<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = () => {
    turns++;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  const result = await work();
  running = false;
  return { result, turns };
}

const within = (count: number, exact: number, tolerance: number) => expect(Math.abs(count - exact) / exact).toBeLessThanOrEqual(tolerance);

describe('TokenCounter', () => {
  it('counts ordinary prose exactly as the cl100k tokenizer does (js-tiktoken)', async () => {
    const exact = getEncoding('cl100k_base').encode(prose, [], []).length;
    expect(await counter.count(prose)).toBe(exact);
  });

  it('counts 100,000 characters without a space: linear, not quadratic, and exact', async () => {
    // 8 characters a token, as the full BPE gives.
    expect(await counter.count('x'.repeat(100_000))).toBe(12_500);
  });

  it('counts 1 MB of base64 within 1% of the exact count, yielding to the event loop meanwhile', async () => {
    const text = base64Megabyte();
    const { result, turns } = await withEventLoopTurns(() => counter.count(text));
    within(result, exactCount(text), 0.01);
    // About one turn per 1 KB slice: other requests are served while it counts.
    expect(turns).toBeGreaterThan(500);
  });

  it('counts 200 KB of minified JavaScript within 1% of the exact count', async () => {
    const text = minifiedJs();
    within(await counter.count(text), exactCount(text), 0.01);
  });

  it('counts special-token text as text instead of refusing it', async () => {
    expect(await counter.count('<|endoftext|>')).toBeGreaterThan(1);
  });

  it('keeps surrogate pairs whole across slices', async () => {
    const emoji = '😀'.repeat(5_000);
    expect(await counter.count(emoji)).toBe(exactCount(emoji));
  });

  it('adds the per-message overhead, and uses stored counts instead of counting again', async () => {
    expect(await counter.countMessage('hello')).toBe((await counter.count('hello')) + 4);
    expect(await counter.storedMessage({ content: 'x'.repeat(100_000), tokens: 7 })).toBe(11);
    expect(await counter.storedMessage({ content: 'hello', tokens: null })).toBe(await counter.countMessage('hello'));
  });

  it('truncates to a token budget, reading no further than it needs', () => {
    const truncated = counter.truncate(prose, 50);
    expect(exactCount(truncated)).toBeLessThanOrEqual(50);
    expect(prose.startsWith(truncated)).toBe(true);
    expect(counter.truncate('short text', 50)).toBe('short text');
    expect(counter.truncate('x'.repeat(1_000_000), 10)).toBe('x'.repeat(80));
  });
});
