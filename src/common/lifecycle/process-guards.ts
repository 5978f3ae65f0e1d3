import { Logger } from '@nestjs/common';
import { currentRequestId } from '../http/request-id';

/** Logs a rejection nobody handled, with the request that started the work. */
export function unhandledRejectionLogger(logger = new Logger('Process')): (reason: unknown) => void {
  return (reason) => logger.error({ err: reason, requestId: currentRequestId() }, 'Unhandled promise rejection; the process keeps running');
}

/**
 * A promise rejection nobody handled is a bug, but Node's default (exit) would cut every
 * stream on the process and lose their answers: it is logged, and the process goes on.
 * Returns the uninstaller.
 */
export function installProcessGuards(logger?: Logger): () => void {
  const onUnhandledRejection = unhandledRejectionLogger(logger);
  process.on('unhandledRejection', onUnhandledRejection);
  return () => process.off('unhandledRejection', onUnhandledRejection);
}
