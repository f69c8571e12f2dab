import type { Point } from './stats.js'

/**
 * A bounded store of memory samples for one subject. It never grows after construction (so storing
 * samples does not itself look like a leak in idtool's own heap): when full, it keeps every other
 * sample and the caller doubles its sampling interval.
 */
export class SampleSeries {
  private readonly xs: Float64Array
  private readonly ys: Float64Array
  private readonly clean: Uint8Array
  private len = 0

  constructor(readonly capacity = 256) {
    if (capacity < 4) throw new RangeError('capacity must be at least 4')
    this.xs = new Float64Array(capacity)
    this.ys = new Float64Array(capacity)
    this.clean = new Uint8Array(capacity)
  }

  get length(): number {
    return this.len
  }

  get full(): boolean {
    return this.len >= this.capacity
  }

  add(iteration: number, bytes: number, clean: boolean): void {
    if (this.full) this.halve()
    this.xs[this.len] = iteration
    this.ys[this.len] = bytes
    this.clean[this.len] = clean ? 1 : 0
    this.len++
  }

  /** Keep samples 0, 2, 4, ... (the first sample, the baseline, always stays). */
  halve(): void {
    let w = 0
    for (let r = 0; r < this.len; r += 2) {
      this.xs[w] = this.xs[r] as number
      this.ys[w] = this.ys[r] as number
      this.clean[w] = this.clean[r] as number
      w++
    }
    this.len = w
  }

  /** The clean samples as [iteration, bytes] points. */
  cleanPoints(): Point[] {
    const out: Point[] = []
    for (let i = 0; i < this.len; i++)
      if (this.clean[i]) out.push([this.xs[i] as number, this.ys[i] as number])
    return out
  }

  /** How many samples were taken in a window with errors and are left out of the verdict. */
  dirtyCount(): number {
    let n = 0
    for (let i = 0; i < this.len; i++) if (!this.clean[i]) n++
    return n
  }
}
