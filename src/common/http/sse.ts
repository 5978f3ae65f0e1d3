import type { Response } from 'express';

export const HEARTBEAT_MS = 15_000;

/**
 * A Server-Sent Events response: the headers that stop proxies buffering, `event:`/`id:`
 * frames, and comment heartbeats so idle connections are not cut.
 */
export class SseWriter {
  private heartbeat?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly res: Response,
    options: { heartbeat?: boolean } = {},
  ) {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    // SseStreams sends its own heartbeats through the events it writes.
    if (options.heartbeat !== false) this.heartbeat = setInterval(() => this.comment('heartbeat'), HEARTBEAT_MS);
    res.on('close', () => this.stop());
  }

  send(event: string, data: unknown, id?: string | number): void {
    if (this.closed) return;
    this.res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** A frame with no event name (OpenAI's streaming format): an object as JSON, or a literal such as `[DONE]`. */
  data(payload: unknown): void {
    if (!this.closed) this.res.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);
  }

  comment(text: string): void {
    if (!this.closed) this.res.write(`: ${text}\n\n`);
  }

  end(): void {
    if (this.closed) return;
    this.stop();
    this.res.end();
  }

  private stop(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
  }
}

/** Aborted when the client goes away before the response is finished. */
export function abortOnDisconnect(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller.signal;
}
