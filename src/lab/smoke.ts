import type { KeystoneSession } from '../keystone/session.js'

export interface SmokeResult {
  version: 1
  kind: 'lab.smoke'
  ok: boolean
  authUrl: string
  issued: { user?: string; project?: string; expiresAt?: string; backend?: string }
  validations: Array<{ backend: string | null; status: number }>
  backendsSeen: string[]
  revoke: { status: number; backend: string | null }
  afterRevoke: Array<{ backend: string | null; status: number }>
  durationMs: number
}

/**
 * Issue a token, validate it through the load balancer until every backend has answered (up to
 * `rounds` requests), revoke it, and validate again on every backend (expect 404 everywhere).
 */
export async function smoke(
  session: KeystoneSession,
  opts: { rounds?: number; expectedBackends?: number } = {},
): Promise<SmokeResult> {
  const t0 = Date.now()
  const { client, caller } = session
  // a token from an application credential may not make other tokens: such a caller issues with its credential
  const subject =
    session.callerKind === 'v3applicationcredential' && session.reauthenticate
      ? await session.reauthenticate()
      : await client.issueTokenFromToken(caller.token, session.scope)
  const rounds = opts.rounds ?? 6
  const validations: SmokeResult['validations'] = []
  for (let i = 0; i < rounds; i++) {
    const r = await client.validate(caller.token, subject.token, { nocatalog: true })
    validations.push({ backend: r.backend ?? null, status: r.status })
  }
  const revoke = await client.revoke(caller.token, subject.token)
  const afterRevoke: SmokeResult['afterRevoke'] = []
  for (let i = 0; i < rounds; i++) {
    const r = await client.validate(caller.token, subject.token, { nocatalog: true })
    afterRevoke.push({ backend: r.backend ?? null, status: r.status })
  }
  const backendsSeen = [
    ...new Set(validations.map((v) => v.backend).filter((b): b is string => Boolean(b))),
  ].sort()
  const ok =
    validations.every((v) => v.status === 200) &&
    revoke.status === 204 &&
    afterRevoke.every((v) => v.status === 404) &&
    (opts.expectedBackends === undefined || backendsSeen.length >= opts.expectedBackends)
  return {
    version: 1,
    kind: 'lab.smoke',
    ok,
    authUrl: client.base,
    issued: {
      user: subject.user?.name,
      project: subject.project?.name,
      expiresAt: subject.expiresAt,
      backend: subject.backend,
    },
    validations,
    backendsSeen,
    revoke: { status: revoke.status, backend: revoke.backend ?? null },
    afterRevoke,
    durationMs: Date.now() - t0,
  }
}
