import net from 'node:net'
import { Client, FilterParser, ResultCodeError } from 'ldapts'
import { describeTlsProblem, errorCode, networkErrorClass, tlsProblem } from '../errors.js'
import { ExitCode } from '../exit-codes.js'
import { IterationError, type IterationOutcome, type LeakTarget, type LeakWorker } from './page-leak-check.js'

/**
 * The paged-search driver on ldapts: connect (plain, ldaps:// or StartTLS), bind, and run a Simple Paged
 * Results (RFC 2696) search one page at a time with `searchPaginated`, timing every page.
 */

export type SearchScope = 'base' | 'one' | 'sub'

export interface LdapConnection {
  url: string
  /** no bind DN: anonymous */
  bindDn?: string
  password?: string
  starttls?: boolean
  /** PEM text of the CA bundle for ldaps:// or StartTLS */
  ca?: string
  /** per-operation timeout, ms (0: none) */
  timeoutMs?: number
  connectTimeoutMs?: number
}

export interface PagedSearchSpec {
  base: string
  filter: string
  scope: SearchScope
  /** [] means all user attributes; ['1.1'] means none (DNs only) */
  attributes: string[]
  pageSize: number
  /**
   * the DNs (lower case) every search must return exactly once: when given, each search counts the ones it
   * missed and the ones it returned that are not in the set
   */
  expected?: ReadonlySet<string>
}

const LDAP_RESULT_NAMES: Record<number, string> = {
  1: 'operationsError',
  2: 'protocolError',
  3: 'timeLimitExceeded',
  4: 'sizeLimitExceeded',
  8: 'strongerAuthRequired',
  11: 'adminLimitExceeded',
  12: 'unavailableCriticalExtension',
  13: 'confidentialityRequired',
  32: 'noSuchObject',
  34: 'invalidDNSyntax',
  48: 'inappropriateAuthentication',
  49: 'invalidCredentials',
  50: 'insufficientAccessRights',
  51: 'busy',
  52: 'unavailable',
  53: 'unwillingToPerform',
  80: 'other',
}

/** The name of an LDAP result code, e.g. 51 -> busy (undefined for codes not listed). */
export function ldapResultName(code: number): string | undefined {
  return LDAP_RESULT_NAMES[code]
}

/** Check a filter string with ldapts' own parser; returns the parse error message, if any. */
export function filterProblem(filter: string): string | undefined {
  try {
    FilterParser.parseString(filter)
    return undefined
  } catch (err) {
    return (err as Error).message.split('\n')[0]
  }
}

/** A size-limit failure, with how many entries arrived before it. */
function sizeLimitError(entriesBefore: number, bindDn: string | undefined, cause: unknown): IterationError {
  return new IterationError(
    'size-limit',
    `the server stopped the paged search after ${entriesBefore} entries with sizeLimitExceeded (LDAP result 4): ` +
      `slapd's default \`sizelimit 500\` caps even paged searches at 500 entries for ordinary bind DNs` +
      (bindDn ? ` (bound as ${bindDn})` : ' (anonymous bind)'),
    {
      hint: 'bind as a DN with `limits dn.exact="<dn>" size=unlimited size.pr=unlimited size.prtotal=unlimited` in slapd.conf (the lab: cn=keystone,dc=example,dc=org), or narrow --base/--filter.',
      exitCode: ExitCode.Usage,
      cause,
    },
  )
}

/**
 * Map anything ldapts throws to an IterationError: LDAP result codes by number, transport failures by
 * class (those ask for a reconnect), ldapts' own socket messages as resets.
 */
export function classifyLdapError(
  err: unknown,
  ctx: { url: string; bindDn?: string; base?: string },
): IterationError {
  if (err instanceof IterationError) return err
  if (err instanceof ResultCodeError) {
    const code = err.code
    const name = LDAP_RESULT_NAMES[code] ?? `result ${code}`
    const detail = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '')
    switch (code) {
      case 49:
        return new IterationError(
          'auth',
          `LDAP bind as ${ctx.bindDn ?? '(anonymous)'} rejected: invalid credentials (LDAP result 49)`,
          {
            hint: 'check --bind-dn and the password in --password-file (or LDAP_PASSWORD).',
            exitCode: ExitCode.Usage,
            cause: err,
          },
        )
      case 4:
        return sizeLimitError(0, ctx.bindDn, err)
      case 34:
        return new IterationError('invalid-dn', `invalid DN syntax (LDAP result 34): ${detail}`, {
          hint: 'check --bind-dn and --base: a DN is attribute=value pairs joined by commas, e.g. cn=svc,dc=example,dc=org.',
          exitCode: ExitCode.Usage,
          cause: err,
        })
      case 32:
        return new IterationError(
          'no-such-object',
          `the base DN ${ctx.base ?? ''} does not exist (LDAP result 32)`,
          {
            hint: 'check --base.',
            exitCode: ExitCode.Usage,
            cause: err,
          },
        )
      case 50:
        return new IterationError(
          'insufficient-access',
          `insufficient access rights (LDAP result 50): ${detail}`,
          {
            hint: 'bind as a DN the ACLs let read the entries.',
            exitCode: ExitCode.Usage,
            cause: err,
          },
        )
      case 51:
      case 52:
        return new IterationError(`ldap-${name}`, `the LDAP server is ${name} (LDAP result ${code})`, {
          reconnect: true,
          cause: err,
        })
      default:
        return new IterationError(`ldap-${name}`, `LDAP ${name} (result ${code}): ${detail}`, { cause: err })
    }
  }
  const message = ((err as Error)?.message ?? String(err)).split('\n')[0] ?? ''
  const tls = tlsProblem(err, ctx.url)
  if (tls) {
    // one line naming the problem (never OpenSSL's own text), with the LDAP flags in the hint
    const { message: what } = describeTlsProblem(ctx.url, tls)
    const hint =
      tls.kind === 'tls-to-plain-port'
        ? 'this port speaks plain LDAP: use ldap:// (with --starttls for TLS on the same port), or the ldaps:// port (usually 636).'
        : tls.kind === 'name-mismatch'
          ? 'use the host name the certificate was made for in --url.'
          : tls.kind === 'expired' || tls.kind === 'not-yet-valid'
            ? "the server's certificate must be renewed (or the clocks compared)."
            : 'pass the CA bundle that signed the server certificate with --cacert.'
    return new IterationError('tls', `TLS with ${ctx.url} failed: ${what}`, {
      reconnect: true,
      hint,
      exitCode: ExitCode.Usage,
      cause: err,
    })
  }
  const code = errorCode(err)
  if (code) {
    const cls = networkErrorClass(err)
    return new IterationError(
      cls === 'other' ? code.toLowerCase() : cls,
      `cannot reach ${ctx.url}: ${message}`,
      {
        reconnect: true,
        hint:
          cls === 'connect'
            ? 'is the LDAP server running? For the lab: `idtool lab status`.'
            : cls === 'tls'
              ? 'pass the CA bundle with --cacert.'
              : undefined,
        exitCode: ExitCode.Usage,
        cause: err,
      },
    )
  }
  if (/Connection timeout|Operation timed out/i.test(message)) {
    return new IterationError('timeout', `LDAP ${ctx.url}: ${message}`, { reconnect: true, cause: err })
  }
  if (/Connection closed|Socket error|Socket connection not established|socket hang up/i.test(message)) {
    return new IterationError('reset', `the LDAP connection to ${ctx.url} was closed: ${message}`, {
      reconnect: true,
      cause: err,
    })
  }
  if (/tls|certificate|self.signed/i.test(message)) {
    return new IterationError('tls', `TLS with ${ctx.url} failed: ${message}`, {
      reconnect: true,
      hint: 'pass the CA bundle with --cacert.',
      exitCode: ExitCode.Usage,
      cause: err,
    })
  }
  return new IterationError('other', `LDAP ${ctx.url}: ${message}`, { reconnect: true, cause: err })
}

/** A StartTLS the server refused (an LDAP result, e.g. slapd without TLS: 52 "Could not initialize TLS"). */
export function startTlsRefused(err: unknown, url: string): unknown {
  if (!(err instanceof ResultCodeError)) return err
  const detail = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '')
  return new IterationError('tls', `${url} refused StartTLS (LDAP result ${err.code}): ${detail}`, {
    hint: 'the server does not offer StartTLS: drop --starttls, or use its ldaps:// port if it has one.',
    exitCode: ExitCode.Usage,
    cause: err,
  })
}

/** Connect (TCP_NODELAY, like OpenLDAP's client), optionally StartTLS, and bind. Throws IterationError. */
export async function openLdap(conn: LdapConnection): Promise<Client> {
  const u = new URL(conn.url)
  const secure = u.protocol === 'ldaps:'
  const client = new Client({
    url: conn.url,
    timeout: conn.timeoutMs ?? 0,
    connectTimeout: conn.connectTimeoutMs ?? conn.timeoutMs ?? 0,
    tlsOptions: secure && conn.ca ? { ca: conn.ca } : undefined,
    createConnection: ((port: number, host: string) => {
      const s = net.connect(port, host)
      s.setNoDelay(true)
      return s
    }) as typeof net.connect,
  })
  try {
    if (conn.starttls) {
      try {
        await client.startTLS({ ca: conn.ca, servername: u.hostname })
      } catch (err) {
        throw startTlsRefused(err, conn.url)
      }
    }
    if (conn.bindDn) await client.bind(conn.bindDn, conn.password ?? '')
    return client
  } catch (err) {
    await client.unbind().catch(() => {})
    throw classifyLdapError(err, { url: conn.url, bindDn: conn.bindDn })
  }
}

/**
 * One full paged search, one page at a time. Every page is timed from asking for it to having it
 * parsed; the search from the first request to the last page. DNs are checked for duplicates.
 */
export async function pagedSearch(
  client: Client,
  spec: PagedSearchSpec,
  ctx: { url: string; bindDn?: string },
  now: () => number = () => performance.now(),
): Promise<IterationOutcome> {
  const seen = new Set<string>()
  const pageMs: number[] = []
  let entries = 0
  let duplicates = 0
  const start = now()
  const it = client.searchPaginated(spec.base, {
    scope: spec.scope,
    filter: spec.filter,
    attributes: spec.attributes,
    paged: { pageSize: spec.pageSize },
  })
  try {
    for (;;) {
      const t = now()
      const step = await it.next()
      if (step.done) break
      pageMs.push(now() - t)
      for (const e of step.value.searchEntries) {
        const dn = e.dn.toLowerCase()
        if (seen.has(dn)) duplicates++
        else seen.add(dn)
      }
      entries += step.value.searchEntries.length
    }
  } catch (err) {
    if (err instanceof ResultCodeError && err.code === 4) throw sizeLimitError(entries, ctx.bindDn, err)
    throw classifyLdapError(err, { ...ctx, base: spec.base })
  }
  const searchMs = now() - start
  const out: IterationOutcome = { entries, pages: pageMs.length, pageMs, searchMs, duplicates }
  return spec.expected ? { ...out, ...compareWithExpected(seen, spec.expected) } : out
}

/** How a search's distinct DNs differ from the expected set: expected ones not seen, seen ones not expected. */
export function compareWithExpected(
  seen: ReadonlySet<string>,
  expected: ReadonlySet<string>,
): { missing: number; unexpected: number } {
  let found = 0
  for (const dn of seen) if (expected.has(dn)) found++
  return { missing: expected.size - found, unexpected: seen.size - found }
}

/** The direct target: each worker is one bound connection running paged searches. */
export function directTarget(conn: LdapConnection, spec: PagedSearchSpec): LeakTarget {
  const ctx = { url: conn.url, bindDn: conn.bindDn }
  return {
    mode: 'direct',
    description: `${conn.url} ${spec.base} ${spec.filter} (scope ${spec.scope})`,
    pageSize: spec.pageSize,
    ...(spec.expected ? { expectedEntries: spec.expected.size } : {}),
    async open(): Promise<LeakWorker> {
      const client = await openLdap(conn)
      return {
        iterate: () => pagedSearch(client, spec, ctx),
        close: () => client.unbind().catch(() => {}),
      }
    },
  }
}
