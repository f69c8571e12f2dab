/**
 * A one-line progress display on stderr. On a terminal it redraws in place (at most every 100 ms);
 * elsewhere (pipes, CI logs) it prints a plain line at most every `plainIntervalMs` so logs stay short.
 */
export interface ProgressSink {
  update(text: string): void
  done(text?: string): void
}

export class Progress implements ProgressSink {
  private lastDraw = 0
  private drawn = false
  private readonly tty: boolean
  private readonly minMs: number

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    opts: { plainIntervalMs?: number; enabled?: boolean } = {},
  ) {
    this.tty = Boolean(stream.isTTY) && process.env.CI !== 'true' && process.env.TERM !== 'dumb'
    this.minMs = this.tty ? 100 : (opts.plainIntervalMs ?? 10_000)
    this.enabled = opts.enabled ?? true
  }

  private readonly enabled: boolean

  update(text: string): void {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.lastDraw < this.minMs) return
    this.lastDraw = now
    if (this.tty) {
      const cols = this.stream.columns || 120
      this.stream.write(`\r\x1b[2K${text.slice(0, cols - 1)}`)
      this.drawn = true
    } else {
      this.stream.write(`${text}\n`)
    }
  }

  done(text?: string): void {
    if (!this.enabled) return
    if (this.tty && this.drawn) this.stream.write('\r\x1b[2K')
    this.drawn = false
    if (text) this.stream.write(`${text}\n`)
  }
}

/** A sink that shows nothing (tests, --quiet). */
export const silentProgress: ProgressSink = { update() {}, done() {} }
