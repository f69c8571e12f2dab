/**
 * What Keystone's policy asks of a caller that validates or revokes other users' tokens, so that a 403
 * names the missing role or rule instead of only "forbidden". From keystone/common/policies/token.py
 * (defaults since Train, the same in Keystone 22):
 *
 *   identity:validate_token (GET)    admin, or reader with system scope, or service, or the token's own user
 *   identity:check_token (HEAD)      admin, or reader with system scope, or the token's own user
 *   identity:revoke_token (DELETE)   admin, or the token's own user
 */

import { HttpError, IdtoolError } from '../errors.js'
import { ExitCode } from '../exit-codes.js'

export type TokenOperation = 'validate' | 'check' | 'revoke'

export const TOKEN_POLICY: Record<TokenOperation, { rule: string; verb: string; allowed: string }> = {
  validate: {
    rule: 'identity:validate_token',
    verb: 'validate',
    allowed:
      "the admin role, the reader role with system scope (system_scope: all), the service role, or the token's own user",
  },
  check: {
    rule: 'identity:check_token',
    verb: 'check (HEAD)',
    allowed: "the admin role, the reader role with system scope (system_scope: all), or the token's own user",
  },
  revoke: {
    rule: 'identity:revoke_token',
    verb: 'revoke',
    allowed: "the admin role or the token's own user",
  },
}

/** Whether an error is Keystone's (or the load balancer's) 403. */
export function isForbidden(err: unknown): boolean {
  return err instanceof HttpError && err.status === 403
}

/** One token's failure reason for a 403 (ledger, result): short, naming the rule. */
export function forbiddenReason(op: TokenOperation): string {
  return `403 forbidden: the caller may not ${TOKEN_POLICY[op].verb} this token (Keystone policy ${TOKEN_POLICY[op].rule})`
}

/**
 * The run-ending error when every answer so far is a 403: the caller lacks the role the policy asks for,
 * and repeating the run with the same caller cannot help. Exit 2 (the caller is the user's input).
 * `answers`: how many 403s were seen; `extraHint`: what else to say (e.g. where the ledger stands).
 */
export function forbiddenRunError(op: TokenOperation, answers: number, extraHint?: string): IdtoolError {
  const p = TOKEN_POLICY[op]
  return new IdtoolError(
    `Keystone answered 403 to all ${answers} ${op === 'revoke' ? 'revocation' : 'validation'} request${answers === 1 ? '' : 's'}: the caller may not ${p.verb} other users' tokens (policy ${p.rule})`,
    {
      code: 'FORBIDDEN',
      exitCode: ExitCode.Usage,
      hint: `${p.rule} allows ${p.allowed}; give the caller such a role (or change the rule in Keystone's policy), or use such a caller (--os-cloud).${extraHint ? ` ${extraHint}` : ''}`,
    },
  )
}

/**
 * Watches the answers of a run for "every answer is a 403". Disarmed by the first answer that is not a
 * 403; `tripped` once `probe` answers in a row from the start were 403s.
 */
export class ForbiddenWatch {
  forbidden = 0
  private other = false

  constructor(readonly probe = 20) {}

  /** Record an answer's status (0: no answer, a transport error: ignored). */
  see(status: number): void {
    if (status === 0 || this.other) return
    if (status === 403) this.forbidden++
    else this.other = true
  }

  /** Every answer so far was a 403 (and there was at least one). */
  get allForbidden(): boolean {
    return !this.other && this.forbidden > 0
  }

  /** Enough answers, all 403s, to stop the run now. */
  get tripped(): boolean {
    return this.allForbidden && this.forbidden >= this.probe
  }
}
