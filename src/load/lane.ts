import type { Dispatcher } from 'undici'

/**
 * How a request's progress reaches the engine. undici calls its native handler methods (onConnect,
 * onHeaders with raw headers, onData, onComplete, onError); the lean lane calls onConnect, then onHead
 * with the status and the raw response head (valid only during the call), then onComplete (or onError).
 */
export interface LaneHandler extends Dispatcher.DispatchHandler {
  onConnect(): void
  /** `receivedAt`: performance.now() when the answer's last bytes were read, before parsing */
  onHead(status: number, head: Buffer, headEnd: number, receivedAt: number): void
  onComplete(): void
  onError(err: Error): void
}

/** What a lane sends through: an undici dispatcher, or the lean HTTP/1.1 lane (http or https). */
export interface Lane {
  dispatch(opts: Dispatcher.DispatchOptions, handler: LaneHandler): boolean
  close(): Promise<void>
  destroy(): Promise<void>
}
