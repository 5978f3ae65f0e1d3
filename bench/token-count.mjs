#!/usr/bin/env node
// Token counting before and after, side by side in one run: js-tiktoken's exact encode (what
// Parley used, quadratic on long runs without spaces) against Parley's TokenCounter
// (dist/, capped pieces, yields to the event loop). For each input: the time to count,
// the count, and the longest time the event loop was held (the worst stall any other
// request would have seen).
//   npm run build && node bench/token-count.mjs
import { getEncoding } from 'js-tiktoken';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { fmt } from './support.mjs';

const require = createRequire(import.meta.url);
const { TokenCounter } = require('../dist/modules/models/token-counter.js');
const counter = new TokenCounter();
const tiktoken = getEncoding('cl100k_base');
// Warm both up (JIT), so the first input is not charged for it.
for (let i = 0; i < 3; i++) {
  tiktoken.encode('warm up the tokenizer '.repeat(200), [], []);
  await counter.count('warm up the tokenizer '.repeat(200));
}

const blocks = [];
for (let i = 0; blocks.length * 32 < 750_000; i++) blocks.push(createHash('sha256').update(String(i)).digest());
const bundle = readFileSync(new URL('../node_modules/rxjs/dist/bundles/rxjs.umd.min.js', import.meta.url), 'utf8');
const inputs = {
  '100,000 × "x"': 'x'.repeat(100_000),
  '1 MB base64': Buffer.concat(blocks).toString('base64').slice(0, 1_000_000),
  '200 KB minified JS': bundle.repeat(Math.ceil(200_000 / bundle.length)).slice(0, 200_000),
  'prose (README)': readFileSync(new URL('../README.md', import.meta.url), 'utf8'),
};
/** js-tiktoken on a run this long would take minutes: measured on a prefix, the total extrapolated (quadratic). */
const BEFORE_LIMIT = 20_000;

async function measure(count) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const started = performance.now();
  const tokens = await count();
  const ms = performance.now() - started;
  delay.disable();
  return { ms, tokens, maxBlockMs: Math.max(ms > 5 ? delay.max / 1e6 : ms, 0) };
}

console.log('input                  before (js-tiktoken)            after (TokenCounter)            counts');
for (const [name, text] of Object.entries(inputs)) {
  const longRuns = /\p{L}{5000,}/u.test(text);
  let before;
  if (longRuns && text.length > BEFORE_LIMIT) {
    const prefix = await measure(() => tiktoken.encode(text.slice(0, BEFORE_LIMIT), [], []).length);
    const factor = (text.length / BEFORE_LIMIT) ** 2;
    before = { ms: prefix.ms * factor, tokens: NaN, maxBlockMs: prefix.ms * factor, note: ` (extrapolated from ${BEFORE_LIMIT.toLocaleString()} chars)` };
  } else before = { ...(await measure(() => tiktoken.encode(text, [], []).length)), note: '' };
  // The event loop is held for the whole synchronous encode.
  before.maxBlockMs = before.ms;
  const after = await measure(() => counter.count(text));
  console.log(
    `${name.padEnd(22)} ${fmt(before.ms).padStart(10)} (blocks ${fmt(before.maxBlockMs)})${before.note}`.padEnd(55) +
      ` ${fmt(after.ms).padStart(10)} (blocks ≤ ${fmt(after.maxBlockMs)})`.padEnd(32) +
      ` before ${Number.isNaN(before.tokens) ? '—' : before.tokens}, after ${after.tokens}`,
  );
}
