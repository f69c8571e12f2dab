// The one formatter set of report/: every renderer (text, Markdown, HTML) prints numbers through these.
// Pure; locale independent.

/** 12345 -> "12,345" (locale independent). */
export function groupDigits(n: number): string {
  const [int, frac] = String(n).split('.')
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return frac === undefined ? grouped : `${grouped}.${frac}`
}

/** A count with digit grouping, or `missing`. */
export const count = (v: number | null | undefined, missing: string) =>
  v === null || v === undefined ? missing : groupDigits(v)

/** Milliseconds with a precision that suits their size (3 significant digits, at most 3 decimals). */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  const a = Math.abs(ms)
  if (a >= 100) return groupDigits(Math.round(ms))
  if (a >= 10) return ms.toFixed(1)
  if (a >= 1) return ms.toFixed(2)
  return ms.toFixed(3)
}

/** Milliseconds for the terminal tables: at most 2 decimals, no digit grouping; '-' when absent. */
export function msCell(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-'
  if (n >= 100) return n.toFixed(0)
  if (n >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

/** A duration for people: 850ms, 12.3s, 4m05s. */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`
  const m = Math.floor(ms / 60_000)
  const s = Math.round((ms % 60_000) / 1000)
  return `${m}m${String(s).padStart(2, '0')}s`
}

/** A duration in seconds with one decimal: "12.3 s". */
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** Requests per second: one decimal, grouped integers from 1,000 up. */
export function fmtRps(rps: number): string {
  if (!Number.isFinite(rps)) return '-'
  return rps >= 1000 ? groupDigits(Math.round(rps)) : rps.toFixed(1)
}

/** A rate per second as the bulk summaries show it: "12.3/s". */
export const perSecond = (r: number) => `${r.toFixed(1)}/s`

/** "+12%", "-44%", "0%" ; "-" when there is no base. */
export function fmtChange(pct: number | null): string {
  if (pct === null || !Number.isFinite(pct)) return '-'
  const r = Math.round(pct)
  return r > 0 ? `+${r}%` : `${r}%`
}

/** A ratio as a percentage for people: 0%, 0.12%, 1.5%, 92%. */
export const ratioPct = (ratio: number) => {
  const v = ratio * 100
  return `${v === 0 || v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2)}%`
}

/** Bytes in B, KiB, MiB or GiB (the one byte format, metrics/units.ts's). */
export { formatBytes as bytes } from '../metrics/units.js'
