import { UsageError } from '../errors.js'

/**
 * A threshold range of the Monitoring Plugins Development Guidelines, as Nagios, Icinga and Sensu checks take
 * it in `-w/--warning` and `-c/--critical`, read as the reference library reads it (Perl's
 * Monitoring::Plugin::Range; test/metrics/plugin-range.test.ts checks every case against it):
 *
 *   `10`      alert when the value is < 0 or > 10
 *   `10:`     alert when < 10
 *   `~:10`    alert when > 10
 *   `10:20`   alert when < 10 or > 20
 *   `@10:20`  alert when 10 <= value <= 20 (inside)
 */
export interface PluginRange {
  /** the text as given (whitespace removed): what perfdata repeats */
  text: string
  /** undefined = -infinity */
  start?: number
  /** undefined = +infinity */
  end?: number
  /** alert inside the range (`@`) rather than outside it */
  inside: boolean
}

const NUMBER = String.raw`[-+]?[\d.]+(?:e[-+]?[\d.]+)?`
const RANGE_RE = new RegExp(String.raw`^(@)?(~|${NUMBER})?(?:(:)(${NUMBER})?)?$`)

function toNumber(text: string): number {
  // the reference reads "1.2.3" as 1.2, as Perl's numeric conversion does; a lone "." is not a number here
  const n = Number.parseFloat(text)
  if (!Number.isFinite(n)) throw new RangeError(text)
  return n
}

/** Parse a range; a UsageError (one line and a hint) for anything the reference would refuse. */
export function parsePluginRange(input: string, flag = '--warning'): PluginRange {
  const text = input.replace(/\s/g, '')
  const bad = () =>
    new UsageError(`${flag} "${input}" is not a threshold range`, {
      hint: 'ranges as Monitoring Plugins take them: 10 (0..10), 10: (>= 10), ~:10 (<= 10), 10:20, @10:20 (alert inside)',
    })
  const m = RANGE_RE.exec(text)
  if (!m || !/[\d~]/.test(text)) throw bad()
  const [, at, first, colon, second] = m
  let start: number | undefined = 0
  let end: number | undefined
  try {
    if (colon) {
      start = first === '~' ? undefined : first === undefined ? 0 : toNumber(first)
      end = second === undefined ? undefined : toNumber(second)
    } else {
      // no colon: "10" is 0..10; "~" alone is not a range
      if (first === undefined || first === '~') throw bad()
      end = toNumber(first)
    }
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw bad()
  }
  if (start !== undefined && end !== undefined && start > end) throw bad()
  return { text, start, end, inside: at === '@' }
}

/** Whether `value` raises an alert for `range`. */
export function rangeAlerts(range: PluginRange, value: number): boolean {
  const within =
    (range.start === undefined || value >= range.start) && (range.end === undefined || value <= range.end)
  return range.inside ? within : !within
}
