#!/usr/bin/env node
// Full paged scan of the lab's users at page size 5: idtool's driver (ldapts, one page at a time, every
// page timed) against OpenLDAP's `ldapsearch -E pr=5/noprompt`, side by side on the same slapd.
//
//   npm run build && node bench/ldap-scan.mjs [--reps 9] [--page-size 5] [--url ldap://127.0.0.1:3890]
//
// Each repetition times, for both clients: connect, bind, every page of the scan, unbind. ldapsearch runs
// as a process (its exec and start-up, a few ms, are included: there is no other way to time it); idtool's
// driver runs in this process after a warm-up (a long-running check is warm). The two alternate in each
// repetition so load on the machine hits both alike. Goal: median ratio <= 1.3.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultLabDir, LAB_BIND_DN, LAB_USERS_DN, labPaths } from '../dist/lab/layout.js'
import { openLdap, pagedSearch } from '../dist/ldap/paged-search.js'

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt
}
const reps = Number(opt('reps', '9'))
const pageSize = Number(opt('page-size', '5'))
const url = opt('url', 'ldap://127.0.0.1:3890')
const base = opt('base', LAB_USERS_DN)
const bindDn = opt('bind-dn', LAB_BIND_DN)
const filter = '(objectClass=*)'
const password = readFileSync(labPaths(defaultLabDir()).ldapBindPasswordFile, 'utf8').replace(/\r?\n$/, '')

// ldapsearch -y reads the file verbatim: a copy without the newline, 0600, removed at the end
const dir = mkdtempSync(join(tmpdir(), 'idtool-bench-'))
const pwFile = join(dir, 'pw')
writeFileSync(pwFile, password, { mode: 0o600 })

function ldapsearch(attrs) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(
      'ldapsearch',
      [
        '-x',
        '-LLL',
        '-H',
        url,
        '-D',
        bindDn,
        '-y',
        pwFile,
        '-b',
        base,
        '-s',
        'one',
        '-E',
        `pr=${pageSize}/noprompt`,
        filter,
        ...attrs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let entries = 0
    let tail = ''
    let err = ''
    child.stdout.on('data', (d) => {
      const text = tail + d.toString('latin1')
      const lines = text.split('\n')
      tail = lines.pop() ?? ''
      for (const l of lines) if (l.startsWith('dn:')) entries++
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = performance.now() - t0
      if (tail.startsWith('dn:')) entries++
      if (code !== 0) reject(new Error(`ldapsearch exited ${code}: ${err.trim()}`))
      else resolve({ ms, entries })
    })
  })
}

async function idtool(attrs) {
  const t0 = performance.now()
  const client = await openLdap({ url, bindDn, password })
  const out = await pagedSearch(
    client,
    { base, filter, scope: 'one', attributes: attrs, pageSize },
    { url, bindDn },
  )
  await client.unbind()
  return { ms: performance.now() - t0, entries: out.entries, pages: out.pages }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const f = (n) => n.toFixed(1).padStart(7)

try {
  console.log(`paged scan of ${base} at page size ${pageSize} on ${url}, ${reps} repetitions each\n`)
  for (const [label, attrs] of [
    ['all user attributes', []],
    ['DNs only (1.1)', ['1.1']],
  ]) {
    // warm-up: the JIT for idtool, the page cache and slapd's entry cache for both
    for (let i = 0; i < 3; i++) await idtool(attrs)
    await ldapsearch(attrs)
    const a = []
    const b = []
    let entries
    let pages
    for (let i = 0; i < reps; i++) {
      const first = i % 2 === 0
      const x = first ? await idtool(attrs) : undefined
      const y = await ldapsearch(attrs)
      const z = x ?? (await idtool(attrs))
      if (z.entries !== y.entries)
        throw new Error(`entry counts differ: idtool ${z.entries}, ldapsearch ${y.entries}`)
      entries = z.entries
      pages = z.pages
      a.push(z.ms)
      b.push(y.ms)
    }
    console.log(`${label}: ${entries} entries in ${pages} pages`)
    console.log(
      `  idtool driver  ms: ${a.map(f).join(' ')}   median ${f(median(a))}  min ${f(Math.min(...a))}`,
    )
    console.log(
      `  ldapsearch     ms: ${b.map(f).join(' ')}   median ${f(median(b))}  min ${f(Math.min(...b))}`,
    )
    const ratio = median(a) / median(b)
    console.log(
      `  ratio idtool/ldapsearch: median ${ratio.toFixed(2)}x, min ${(Math.min(...a) / Math.min(...b)).toFixed(2)}x ` +
        `(goal <= 1.30x: ${ratio <= 1.3 ? 'met' : 'NOT met'})\n`,
    )
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
