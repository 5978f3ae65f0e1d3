import { INestApplication, Logger } from '@nestjs/common';
import type { Server } from 'node:http';
import { LifecycleService } from './lifecycle.service';

/**
 * SIGTERM/SIGINT: readiness turns 503 at once, the server stops accepting connections,
 * in-flight requests get `graceMs` to finish, then the app (and its database) closes.
 * Nest's own shutdown hooks would close the database before the server stops, so the
 * order is ours.
 */
export async function shutdownGracefully(app: INestApplication, graceMs: number): Promise<void> {
  const logger = new Logger('Shutdown');
  app.get(LifecycleService).beginShutdown();
  const server = app.getHttpServer() as Server;
  logger.log(`Draining: no new connections, ${graceMs} ms for in-flight requests`);

  const drained = new Promise<void>((resolve) => server.close(() => resolve()));
  // Keep-alive sockets would hold close() open: drop each one as soon as its request is done.
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  const timedOut = await Promise.race([
    drained.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
  ]);
  clearInterval(sweeper);
  if (timedOut) {
    logger.warn('Grace period over: closing the remaining connections');
    server.closeAllConnections();
  }
  await app.close();
  logger.log('Stopped');
}

export function installSignalHandlers(app: INestApplication, graceMs: number): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    new Logger('Shutdown').log(`${signal} received`);
    shutdownGracefully(app, graceMs)
      .then(() => process.exit(0))
      .catch((error: Error) => {
        new Logger('Shutdown').error(error);
        process.exit(1);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
