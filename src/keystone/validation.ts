import type { AnswerWatch, RequestTemplate } from '../load/engine.js'
import { ForbiddenWatch, forbiddenRunError } from './policy.js'

/**
 * Keystone's token validation as requests for the load engine: the URL (`GET|HEAD /v3/auth/tokens`), the
 * headers (the caller's X-Auth-Token, the token to validate as X-Subject-Token), the status each answer must
 * have (200, or 404 for a revoked token) and the stop rule for a caller the policy refuses.
 */

/** A token to validate and what its validation must answer. */
export interface ValidateToken {
  token: string
  /** 'revoked' tokens must answer 404, every other one 200 */
  state?: 'valid' | 'revoked' | 'failed'
}

/** The token validation URL of a Keystone v3 base URL (`…/v3` -> `…/v3/auth/tokens`). */
export function validationUrl(keystoneV3Base: string): string {
  return `${keystoneV3Base.replace(/\/+$/, '')}/auth/tokens`
}

/** The status a validation of `t` must answer: 404 for a token known to be revoked, else 200. */
export function expectedValidationStatus(t: ValidateToken): 200 | 404 {
  return t.state === 'revoked' ? 404 : 200
}

/** The tokens worth validating: 'failed' entries (never issued) and empty ones are skipped. */
export function usableTokens(tokens: readonly ValidateToken[]): ValidateToken[] {
  return tokens.filter((t) => t.state !== 'failed' && t.token)
}

export interface ValidationRequestOptions {
  /** the validation URL, e.g. http://127.0.0.1:5000/v3/auth/tokens (a query is kept) */
  url: string
  /** X-Auth-Token of every request */
  callerToken: string
  /** append `nocatalog` to the query (no service catalog in the answer) */
  nocatalog: boolean
}

/**
 * One validation request per token, in the pool's order. No `accept` header: Keystone only speaks JSON,
 * and every header costs validation per request.
 */
export function validationRequests(
  o: ValidationRequestOptions,
  tokens: readonly ValidateToken[],
): { origin: string; templates: RequestTemplate[] } {
  const u = new URL(o.url)
  const query = u.search ? `${u.search}${o.nocatalog ? '&nocatalog' : ''}` : o.nocatalog ? '?nocatalog' : ''
  const path = `${u.pathname}${query}`
  return {
    origin: u.origin,
    templates: tokens.map((t) => ({
      path,
      headers: ['x-auth-token', o.callerToken, 'x-subject-token', t.token],
      expectedStatus: expectedValidationStatus(t),
    })),
  }
}

/** A run stops (exit 2, the policy named) when its first this many answers are all 403. */
export const FORBIDDEN_PROBE = 20

/**
 * The stop rule of a validation run: a caller the policy does not allow gets a 403 for every token, so stop
 * after the first answers instead of measuring the refusals, and say which role is missing. `interrupted`:
 * whether the user stopped the run (a short run of 403s is then no verdict).
 */
export function forbiddenValidationWatch(method: 'GET' | 'HEAD', interrupted: () => boolean): AnswerWatch {
  const watch = new ForbiddenWatch(FORBIDDEN_PROBE)
  return {
    see: (status) => watch.see(status),
    get stop() {
      return watch.tripped
    },
    check() {
      if (watch.tripped || (watch.allForbidden && !interrupted()))
        throw forbiddenRunError(method === 'HEAD' ? 'check' : 'validate', watch.forbidden)
    },
  }
}
