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

/** Format a duration in ms as a short human string. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const m = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  return `${m}m${String(s).padStart(2, '0')}s`
}

/** The progress line of `ldap page-leak-check` (its one event type, ldap/page-leak-check.ts). */
export function leakProgressLine(p: import('../ldap/page-leak-check.js').LeakProgress): string {
  const what = p.mode === 'keystone' ? 'listings' : 'searches'
  if (p.phase === 'probe') return `probe ${p.mode === 'keystone' ? 'listing' : 'search'}...`
  if (p.phase === 'warmup') return `warm-up ${p.done}/${p.total} ${what}`
  const of = p.total !== undefined ? `/${p.total}` : ''
  const time =
    p.durationMs !== undefined
      ? ` (${formatMs(p.elapsedMs)} of ${formatMs(p.durationMs)})`
      : ` (${formatMs(p.elapsedMs)})`
  const last = p.lastSearchMs !== undefined ? `, last ${p.lastSearchMs.toFixed(1)} ms` : ''
  return `measuring ${p.done}${of} ${what}${time}, ${p.errors} errors${last}, memory every ${p.sampleEvery}`
}
