import { HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { abortOnDisconnect } from '../../common/http/sse';

/** The two ways a /v1 model call can answer, each given the signal that ends with the client. */
export interface ModelCallAnswer<T> {
  stream: (signal: AbortSignal) => Promise<void>;
  complete: (signal: AbortSignal) => Promise<T>;
}

/**
 * Answers a /v1 model call streamed or as one JSON body. The upstream call is aborted when
 * the client leaves; its failure is then reported to nobody (the call is recorded as cancelled).
 */
export async function answerModelCall<T>(res: Response, streamed: boolean | null | undefined, answer: ModelCallAnswer<T>): Promise<void> {
  const signal = abortOnDisconnect(res);
  try {
    if (streamed) return await answer.stream(signal);
    res.status(HttpStatus.OK).json(await answer.complete(signal));
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}
