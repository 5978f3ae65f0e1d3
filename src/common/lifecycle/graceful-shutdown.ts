import { INestApplication, Logger } from '@nestjs/common';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { SseStreams } from '../http/sse-streams';
import { LifecycleService } from './lifecycle.service';

export interface ShutdownTimings {
  /** Readiness answers 503 while everything is still served, so load balancers stop routing here. */
  delayMs: number;
  /** Then, with no new connections accepted, what running answers and requests get to finish. */
  graceMs: number;
}

/** What storing interrupted answers and closing the app may take after the grace period. */
export const SHUTDOWN_MARGIN_MS = 10_000;

/**
 * SIGTERM/SIGINT, for rolling updates:
 * 1. readiness turns 503 at once, and for `delayMs` the server keeps serving as before;
 * 2. it stops accepting connections and new answers (503), keep-alive sockets close as
 *    their requests end, and running answers get `graceMs` to finish;
 * 3. answers still running are stored `interrupted` (SERVER_SHUTDOWN) with their text, their
 *    readers get `error` + `close`; other open streams get an error event telling them to
 *    reconnect (to another pod) with Last-Event-ID; remaining connections are closed;
 * 4. the app (and its database) closes.
 * Nest's own shutdown hooks would close the database before the server stops, so the order is ours.
 */
export async function shutdownGracefully(app: INestApplication, { delayMs, graceMs }: ShutdownTimings): Promise<void> {
  const logger = new Logger('Shutdown');
  const lifecycle = app.get(LifecycleService);
  lifecycle.beginShutdown();
  if (delayMs > 0) {
    logger.log(`Readiness is 503; still serving for ${delayMs} ms while load balancers stop routing here`);
    await sleep(delayMs);
  }
  lifecycle.stopAcceptingWork();
  const server = app.getHttpServer() as Server;
  logger.log(`Draining: no new connections, ${graceMs} ms for running answers and in-flight requests`);
  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive sockets would hold close() open: drop each one as soon as its request is done.
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  const graceOver = sleep(graceMs, false, { ref: false });
  await lifecycle.drain(graceMs);
  const timedOut = await Promise.race([drained.then(() => false), graceOver.then(() => true)]);
  clearInterval(sweeper);
  if (timedOut) {
    app.get(SseStreams).closeAll({ event: 'error', data: { code: 'SERVER_SHUTDOWN', message: 'This server is shutting down; reconnect with Last-Event-ID' } });
    // The last events need a moment to leave before the sockets go.
    await sleep(100);
    logger.warn('Grace period over: closing the remaining connections');
    server.closeAllConnections();
  }
  await app.close();
  logger.log('Stopped');
}

export function installSignalHandlers(app: INestApplication, timings: ShutdownTimings): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const logger = new Logger('Shutdown');
    logger.log(`${signal} received`);
    // Whatever hangs, the process is gone within delay + grace + a margin.
    setTimeout(() => {
      logger.error('Shutdown took too long; exiting');
      process.exit(1);
    }, timings.delayMs + timings.graceMs + SHUTDOWN_MARGIN_MS).unref();
    // Ctrl+C at a terminal has no load balancer to wait for; orchestrators send SIGTERM.
    shutdownGracefully(app, signal === 'SIGINT' ? { ...timings, delayMs: 0 } : timings)
      .then(() => process.exit(0))
      .catch((error: Error) => {
        logger.error(error);
        process.exit(1);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
