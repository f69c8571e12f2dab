import Table from 'cli-table3'
import type { TableData } from './table-data.js'

/** A table of data laid out as a terminal text table (numeric columns right-aligned). */
export function textTable(t: TableData): string {
  const table = new Table({
    head: t.head,
    style: { head: [], border: [] },
    colAligns: t.head.map((_, i) => (t.numeric.includes(i) ? 'right' : 'left')),
  })
  for (const row of t.rows) table.push(row.map(String))
  return table.toString()
}
