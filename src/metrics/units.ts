/** Byte sizes: parse `1024`, `1KiB`, `1.5 MiB`, `4kB`, `2M`; format for people. Pure. */

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
}

/** Parse a byte size; throws an Error with a one-line message when it is not one. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const factor = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined
  if (!m || factor === undefined) {
    throw new Error(`invalid size "${text}" (use e.g. 1024, 512B, 1KiB, 2MiB, 4kB)`)
  }
  return Math.round(Number(m[1]) * factor)
}

/** A byte count for people: `812 B`, `1.5 KiB`, `38.20 MiB` (sign kept). */
export function formatBytes(bytes: number): string {
  const a = Math.abs(bytes)
  if (a >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2)} GiB`
  if (a >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(2)} MiB`
  if (a >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${Math.round(bytes)} B`
}
