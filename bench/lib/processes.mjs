// The processes of a side-by-side run: pinning to a CPU, the mock upstream, the raw proxy
// baseline and Portkey's gateway as child processes, and what /proc tells about them.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, freePort } from '../support.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const TASKSET = '/usr/bin/taskset';
const require = createRequire(import.meta.url);

/** Pinning needs taskset, two CPUs and permission to use both (a container may allow fewer). */
export const canPin =
  availableParallelism() >= 2 && existsSync(TASKSET) && spawnSync(TASKSET, ['-c', '0', 'true']).status === 0 && spawnSync(TASKSET, ['-c', '1', 'true']).status === 0;

/** The command prefix that runs a program on one CPU; empty where pinning is not possible. */
export const onCpu = (cpu) => (canPin && cpu !== undefined ? [TASKSET, '-c', String(cpu)] : []);

/** Pins every thread of this process to `cpu` (no-op where pinning is not possible). */
export function pinSelf(cpu) {
  if (canPin) spawnSync(TASKSET, ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** A file to give a child as stdout/stderr, so its output costs the load generator nothing. */
export const logFile = (path) => openSync(path, 'a');

/**
 * Spawns node with `args` on `cpu`. The child is killed when this process exits; if it dies
 * on its own before `stop()`, the run is aborted with `what` and the log file named.
 */
function spawnNode(what, args, { cpu, env = {}, stdio = ['ignore', 'ignore', 'ignore'], log } = {}) {
  const [file, ...rest] = [...onCpu(cpu), process.execPath, ...args];
  const child = spawn(file, rest, { env: { ...process.env, ...env }, stdio });
  let stopping = false;
  const exited = once(child, 'exit');
  process.on('exit', () => child.kill('SIGTERM'));
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${what} exited unexpectedly (code ${code}, signal ${signal})${log ? `; its output is in ${log}` : ''}`);
    process.exit(1);
  });
  return {
    child,
    pid: child.pid,
    stop: () => {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Polls GET `path` until it answers 200, for at most `ms`. */
async function waitForHttp(port, path, what, ms = 30_000) {
  for (const started = Date.now(); Date.now() - started < ms; await new Promise((r) => setTimeout(r, 100))) {
    try {
      if ((await call(port, 'GET', path)).status === 200) return;
    } catch {
      // not listening yet
    }
  }
  throw new Error(`${what} did not answer GET ${path} within ${ms / 1000} s`);
}

/**
 * The mock upstream (bench/lib/upstream-process.mjs) on `cpu`. `setStreaming(profile)`
 * changes how the streams that follow are paced; `inFlight()` counts open requests.
 */
export async function startUpstreamProcess({ cpu } = {}) {
  const proc = spawnNode('the mock upstream', [join(HERE, 'upstream-process.mjs')], { cpu, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 0;
  const ready = new Promise((resolve) =>
    proc.child.on('message', (message) => {
      if (message.port) return resolve(message.port);
      pending.get(message.id)?.(message);
      pending.delete(message.id);
    }),
  );
  const ask = (message) =>
    new Promise((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      proc.child.send({ id, ...message });
    });
  return {
    port: await ready,
    pid: proc.pid,
    setStreaming: (profile) => ask({ streaming: profile }),
    inFlight: async () => (await ask({})).inFlight,
    stop: proc.stop,
  };
}

/** The raw node proxy baseline (bench/lib/raw-proxy.mjs) in front of `upstreamPort`, on `cpu`. */
export async function startRawProxy(upstreamPort, { cpu, log } = {}) {
  const port = await freePort();
  const out = log ? logFile(log) : 'ignore';
  const proc = spawnNode('the raw proxy', [join(HERE, 'raw-proxy.mjs'), String(port), String(upstreamPort)], { cpu, stdio: ['ignore', out, out], log });
  await waitForListening(port, 'the raw proxy');
  return { port, pid: proc.pid, stop: proc.stop };
}

/** Resolves once something accepts HTTP on `port` (any status). */
async function waitForListening(port, what, ms = 30_000) {
  for (const started = Date.now(); Date.now() - started < ms; await new Promise((r) => setTimeout(r, 50))) {
    try {
      return void (await call(port, 'GET', '/'));
    } catch {
      // not listening yet
    }
  }
  throw new Error(`${what} did not listen on ${port} within ${ms / 1000} s`);
}

/** The installed @portkey-ai/gateway: its version and its Node server script. */
export function portkeyPackage() {
  const manifest = require.resolve('@portkey-ai/gateway/package.json');
  const { version, bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  return { version, script: join(dirname(manifest), typeof bin === 'string' ? bin : Object.values(bin)[0]) };
}

/**
 * Portkey's gateway (its own Node server, as `npx @portkey-ai/gateway` starts it) on `cpu`,
 * headless (no log UI) and in production mode. `headers` are what routes a request to an
 * OpenAI-compatible host: the provider and the custom host (see README of the package).
 */
export async function startPortkey(upstreamPort, { cpu, log } = {}) {
  const { version, script } = portkeyPackage();
  const port = await freePort();
  const out = log ? logFile(log) : 'ignore';
  const proc = spawnNode(`Portkey's gateway ${version}`, [script, `--port=${port}`, '--headless'], { cpu, env: { NODE_ENV: 'production' }, stdio: ['ignore', out, out], log });
  await waitForHttp(port, '/', `Portkey's gateway ${version}`);
  return {
    port,
    pid: proc.pid,
    version,
    stop: proc.stop,
    headers: {
      authorization: 'Bearer sk-bench',
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `http://127.0.0.1:${upstreamPort}/v1`,
    },
  };
}

/** Resident set size of a process in bytes (VmRSS), or NaN once it is gone. */
export function rssOf(pid) {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** RSS of an idle process: the median of ten readings over a second (it moves as the GC runs). */
export async function idleRssOf(pid) {
  const readings = [];
  for (let i = 0; i < 10; i++, await new Promise((r) => setTimeout(r, 100))) readings.push(rssOf(pid));
  return readings.sort((a, b) => a - b)[5];
}

/** Per-CPU [busy, total] jiffies from /proc/stat (empty where there is none). */
export function cpuTimes() {
  try {
    return Object.fromEntries(
      [...readFileSync('/proc/stat', 'utf8').matchAll(/^cpu(\d+) (.*)$/gm)].map(([, cpu, rest]) => {
        const [user, nice, system, idle, iowait, irq, softirq, steal] = rest.trim().split(/\s+/).map(Number);
        const busy = user + nice + system + irq + softirq + steal;
        return [cpu, [busy, busy + idle + iowait]];
      }),
    );
  } catch {
    return {};
  }
}

/** Share of time each CPU was busy between two cpuTimes() readings, e.g. { 0: 0.98, 1: 0.71 }. */
export const busyShare = (before, after) =>
  Object.fromEntries(Object.keys(after).filter((cpu) => before[cpu]).map((cpu) => [cpu, (after[cpu][0] - before[cpu][0]) / Math.max(1, after[cpu][1] - before[cpu][1])]));
