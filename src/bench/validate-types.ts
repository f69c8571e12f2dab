import type { ValidateToken } from '../keystone/validation.js'
import type { EngineDeps, EngineProgress, EngineSettings } from '../load/engine.js'
import type { ShardInfo } from '../results/types.js'

/** The option types of a validation benchmark (bench/validate.ts), apart so bench/workers.ts needs no cycle. */

/** The settings of a validation benchmark: everything but the target and the tokens. */
export interface ValidateBenchSettings extends EngineSettings {
  /** append `?nocatalog` */
  nocatalog: boolean
}

export interface ValidateBenchOptions extends ValidateBenchSettings {
  /** the validation URL, e.g. http://127.0.0.1:5000/v3/auth/tokens (no query) */
  url: string
  /** X-Auth-Token of every request */
  callerToken: string
  /** X-Subject-Token values, used in turn; 'failed' entries are skipped */
  tokens: ValidateToken[]
  /** a shard's run: its record in the result (the start skew comes from the run) */
  shard?: Omit<ShardInfo, 'startSkewMs'>
}

/** Live progress of a run, for a progress line. */
export type ValidateProgress = EngineProgress

export interface ValidateBenchDeps extends Omit<EngineDeps, 'watch'> {
  /** @deprecated use `tls: { ca }`; still honoured when `tls` has no `ca` */
  ca?: string
}
