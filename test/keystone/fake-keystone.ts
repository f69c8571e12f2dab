import type { ServerResponse } from 'node:http'
import { startServer, type TestServer } from '../helpers/server.js'

/**
 * A small stand-in for the Keystone v3 token routes that revoke-bulk and tokens issue use, on a real HTTP
 * server on 127.0.0.1:0 (unit tests only; integration tests use the real lab). Stateful: it knows which tokens
 * it issued and which it revoked, records one revocation event per 204, and can inject faults.
 */
export interface FakeKeystone {
  url: string
  authUrl: string
  srv: TestServer
  /** tokens issued (valid unless revoked) */
  issued: Set<string>
  revoked: Set<string>
  /** one entry per 204 DELETE: the subject token */
  events: string[]
  /** DELETE requests per subject token */
  deletes: Map<string, number>
  /** callers whose token is rejected (401 on DELETE, 404 on the token method) */
  rejectedCallers: Set<string>
  inFlight: number
  maxInFlight: number
  faults: {
    /** delay every response by this many ms */
    delayMs: number
    /** answer the next N requests (of any kind except GET events) with this status */
    failNext: number
    failStatus: number
    /** destroy the socket of the next N requests without answering */
    resetNext: number
    /** never answer the next N requests */
    stallNext: number
    /** never answer the next N token-method issue requests (the password authentication still works) */
    stallTokenMethod: number
    /** answer DELETE of these subject tokens with 403 */
    forbidden: Set<string>
    /** answer every n-th DELETE with 403 (0: never) */
    forbidEvery: number
    /** answer every validation (GET/HEAD /v3/auth/tokens) with 403 */
    forbidValidate: boolean
    /** reject the password (401) */
    wrongPassword: boolean
    /** after this many successful requests, reject the current caller tokens (expire them) */
    expireCallersAfter: number
  }
  /** password authentications seen */
  passwordAuths: number
  /** when each token-method issue was stalled (performance.now() of this process) */
  stalledAt: number[]
  /** validations (GET/HEAD /v3/auth/tokens) seen */
  validations: number
  requests: number
  /** Forget every token, event and fault except the caller tokens issued by password (still valid). */
  reset(): void
  close(): Promise<void>
}

export const FAKE_PASSWORD = 'fake-secret-pw'

/** The OS_* environment of a CLI or library run against the fake as admin (no cloud, no clouds.yaml). */
export const fakeKeystoneEnv = (authUrl: string) => ({
  OS_CLOUD: '',
  OS_CLIENT_CONFIG_FILE: '',
  OS_AUTH_URL: authUrl,
  OS_USERNAME: 'admin',
  OS_PASSWORD: FAKE_PASSWORD,
  OS_PROJECT_NAME: 'admin',
  OS_USER_DOMAIN_NAME: 'Default',
  OS_PROJECT_DOMAIN_NAME: 'Default',
})

/** No fault: every request answered at once, as Keystone would. */
function noFaults(): FakeKeystone['faults'] {
  return {
    delayMs: 0,
    failNext: 0,
    failStatus: 503,
    resetNext: 0,
    stallNext: 0,
    stallTokenMethod: 0,
    forbidden: new Set(),
    forbidEvery: 0,
    forbidValidate: false,
    wrongPassword: false,
    expireCallersAfter: 0,
  }
}

export async function startFakeKeystone(): Promise<FakeKeystone> {
  let seq = 0
  let okCount = 0
  let deleteCount = 0
  const prefix = `tok-${Math.random().toString(36).slice(2, 8)}`
  const callers = new Set<string>()
  const fk: Omit<FakeKeystone, 'url' | 'authUrl' | 'srv' | 'close' | 'reset'> = {
    issued: new Set(),
    revoked: new Set(),
    events: [],
    deletes: new Map(),
    rejectedCallers: new Set(),
    inFlight: 0,
    maxInFlight: 0,
    faults: noFaults(),
    passwordAuths: 0,
    stalledAt: [],
    validations: 0,
    requests: 0,
  }
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers })
    res.end(JSON.stringify(body))
  }
  const valid = (t: string | undefined) => Boolean(t) && fk.issued.has(t!) && !fk.revoked.has(t!)
  const callerOk = (t: string | undefined) => valid(t) && !fk.rejectedCallers.has(t!)
  const srv = await startServer(async (req, res) => {
    fk.requests++
    fk.inFlight++
    fk.maxInFlight = Math.max(fk.maxInFlight, fk.inFlight)
    try {
      const url = new URL(req.url ?? '/', 'http://x')
      const isEvents = url.pathname === '/v3/OS-REVOKE/events'
      if (!isEvents && fk.faults.stallNext > 0) {
        fk.faults.stallNext--
        // a stalled request does not count as in flight (the client gave up on it)
        fk.inFlight--
        await new Promise((r) => setTimeout(r, 5_000))
        fk.inFlight++
        return
      }
      if (!isEvents && fk.faults.resetNext > 0) {
        fk.faults.resetNext--
        req.socket.destroy()
        return
      }
      if (fk.faults.delayMs) await new Promise((r) => setTimeout(r, fk.faults.delayMs))
      if (!isEvents && fk.faults.failNext > 0) {
        fk.faults.failNext--
        json(res, fk.faults.failStatus, {
          error: { code: fk.faults.failStatus, message: 'injected failure' },
        })
        return
      }
      const ok = () => {
        okCount++
        if (fk.faults.expireCallersAfter && okCount === fk.faults.expireCallersAfter) {
          for (const c of callers) fk.rejectedCallers.add(c)
        }
      }
      if (url.pathname === '/v3/auth/tokens' && req.method === 'POST') {
        const { identity: id, scope } = JSON.parse(req.body).auth
        // as Keystone's schema: a project scope names the project by id, or by name with its domain
        const project = scope?.project
        if (project && !project.id && !(project.name && (project.domain?.id || project.domain?.name))) {
          json(res, 400, {
            error: {
              code: 400,
              message: 'Invalid input for field scope/project: id or name must be present.',
            },
          })
          return
        }
        if (id.methods[0] === 'token' && fk.faults.stallTokenMethod > 0) {
          fk.faults.stallTokenMethod--
          fk.stalledAt.push(performance.now())
          fk.inFlight--
          await new Promise((r) => setTimeout(r, 5_000))
          fk.inFlight++
          return
        }
        let caller = false
        if (id.methods[0] === 'password') {
          fk.passwordAuths++
          if (fk.faults.wrongPassword || id.password.user.password !== FAKE_PASSWORD) {
            json(res, 401, {
              error: { code: 401, message: 'The request you have made requires authentication.' },
            })
            return
          }
          caller = true
        } else if (!callerOk(id.token.id)) {
          json(res, 404, { error: { code: 404, message: 'Failed to validate token' } })
          return
        }
        const tok = `${prefix}-${++seq}`
        fk.issued.add(tok)
        if (caller) callers.add(tok)
        ok()
        json(
          res,
          201,
          {
            token: {
              audit_ids: [`audit-${seq}`],
              issued_at: new Date().toISOString(),
              expires_at: new Date(Date.now() + 3_600_000).toISOString(),
              user: { id: 'u1', name: 'admin' },
              project: { id: 'p1', name: 'admin' },
            },
          },
          { 'x-subject-token': tok },
        )
        return
      }
      const caller = req.headers['x-auth-token'] as string | undefined
      if (!callerOk(caller)) {
        json(res, 401, {
          error: { code: 401, message: 'The request you have made requires authentication.' },
        })
        return
      }
      if (url.pathname === '/v3/auth/tokens' && (req.method === 'GET' || req.method === 'HEAD')) {
        fk.validations++
        if (fk.faults.forbidValidate) {
          json(res, 403, {
            error: { code: 403, message: 'You are not authorized to perform the requested action.' },
          })
          return
        }
        const subject = String(req.headers['x-subject-token'])
        if (!valid(subject)) {
          json(res, 404, { error: { code: 404, message: 'Failed to validate token' } })
          return
        }
        json(res, 200, { token: { audit_ids: ['x'] } })
        return
      }
      if (url.pathname === '/v3/auth/tokens' && req.method === 'DELETE') {
        const subject = String(req.headers['x-subject-token'])
        fk.deletes.set(subject, (fk.deletes.get(subject) ?? 0) + 1)
        deleteCount++
        if (
          fk.faults.forbidden.has(subject) ||
          (fk.faults.forbidEvery && deleteCount % fk.faults.forbidEvery === 0)
        ) {
          json(res, 403, {
            error: { code: 403, message: 'You are not authorized to perform the requested action.' },
          })
          return
        }
        if (!valid(subject)) {
          json(res, 404, { error: { code: 404, message: 'Failed to validate token' } })
          return
        }
        fk.revoked.add(subject)
        fk.events.push(subject)
        ok()
        res.writeHead(204)
        res.end()
        return
      }
      if (isEvents) {
        json(res, 200, { events: fk.events.map((t) => ({ audit_id: `a-${t}` })) })
        return
      }
      res.writeHead(404)
      res.end()
    } finally {
      fk.inFlight--
    }
  })
  const reset = () => {
    fk.issued.clear()
    for (const c of callers) fk.issued.add(c)
    fk.revoked.clear()
    fk.events.length = 0
    fk.deletes.clear()
    fk.rejectedCallers.clear()
    fk.maxInFlight = 0
    fk.passwordAuths = 0
    fk.stalledAt.length = 0
    fk.validations = 0
    fk.requests = 0
    okCount = 0
    deleteCount = 0
    Object.assign(fk.faults, noFaults())
  }
  return Object.assign(fk, {
    url: srv.url,
    authUrl: `${srv.url}/v3`,
    srv,
    reset,
    close: () => srv.close(),
  }) as FakeKeystone
}
