import type { CheckResult, Perfdatum } from '../results/check.js'

/** A perfdata label, quoted as the guidelines ask when it holds a space, `=` or a quote. */
function label(text: string): string {
  return /[\s='"]/.test(text) ? `'${text.replace(/'/g, "''")}'` : text
}

/** A number as perfdata writes it: no exponent, no trailing zeros, at most 3 decimals. */
export function perfNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toFixed(3)))
}

/** `'label'=value[UOM];[warn];[crit];[min];[max]` (trailing empty fields dropped after max). */
export function perfdatum(p: Perfdatum): string {
  const opt = (n: number | undefined) => (n === undefined ? '' : perfNumber(n))
  const fields = [p.warning ?? '', p.critical ?? '', opt(p.min), opt(p.max)]
  while (fields.length && fields[fields.length - 1] === '') fields.pop()
  // the guidelines' own example keeps "min;" when max is empty: events=23;100;1000;0;
  const tail = fields.length === 3 ? `;${fields.join(';')};` : fields.length ? `;${fields.join(';')}` : ''
  return `${label(p.label)}=${perfNumber(p.value)}${p.uom ?? ''}${tail}`
}

/**
 * The output of a monitoring check: one line `IDTOOL NAME STATUS - summary | perfdata`, then the detail
 * lines, if any.
 */
export function renderPluginOutput(r: CheckResult): string {
  const perf = r.perfdata.map(perfdatum).join(' ')
  const first = `IDTOOL ${r.name} ${r.status} - ${r.summary.replace(/[|\n]/g, ' ')}${perf ? ` | ${perf}` : ''}`
  return [first, ...r.details.map((d) => d.replace(/\|/g, '/'))].join('\n')
}
