import type { TableData } from '../table-data.js'

// HTML pieces every section uses: escaping, tables, figures.

export function escapeHtml(s: unknown): string {
  return String(s ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/** An HTML table; columns listed in `numeric` are right-aligned. Cells are escaped. */
export function htmlTable(head: string[], rows: unknown[][], numeric: number[] = []): string {
  const cls = (i: number) => (numeric.includes(i) ? ' class="num"' : '')
  return [
    '<table>',
    `<thead><tr>${head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n')
}

/** A table built by the shared builders, numeric columns right-aligned. */
export const tbl = (t: TableData) => htmlTable(t.head, t.rows, t.numeric)

export const figure = (svg: string, caption?: string) =>
  `<figure>${svg}${caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : ''}</figure>`
