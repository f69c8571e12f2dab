import { Errors } from '@oclif/core'
import { describe, expect, it } from 'vitest'
import {
  AuthError,
  ConfigError,
  ConnectionError,
  connectionErrorFor,
  HttpError,
  IdtoolError,
  InterruptedError,
  networkErrorClass,
  toIdtoolError,
  UsageError,
} from '../src/errors.js'
import { ExitCode } from '../src/exit-codes.js'

describe('exit codes', () => {
  it('maps every error class to the documented exit code', () => {
    expect(new UsageError('x').exitCode).toBe(2)
    expect(new ConfigError('x').exitCode).toBe(2)
    expect(new AuthError('x').exitCode).toBe(2)
    expect(new ConnectionError('x').exitCode).toBe(2)
    expect(new HttpError(500, 'x').exitCode).toBe(1)
    expect(new InterruptedError().exitCode).toBe(130)
    expect(new IdtoolError('x').exitCode).toBe(1)
    expect(ExitCode).toEqual({
      Ok: 0,
      Runtime: 1,
      Usage: 2,
      Threshold: 3,
      Partial: 4,
      Leak: 5,
      Interrupted: 130,
    })
  })

  it('turns oclif parse errors into one-line usage errors', () => {
    const e = toIdtoolError(
      new Errors.CLIError('Nonexistent flag: --bogus\nSee more help with --help', { exit: 2 }),
    )
    expect(e).toBeInstanceOf(UsageError)
    expect(e.exitCode).toBe(2)
    expect(e.message).toBe('Nonexistent flag: --bogus')
  })

  it('skips oclif generic lead lines to the specific problem', () => {
    const e = toIdtoolError(
      new Errors.CLIError(
        'The following error occurred:\n  --a=1 cannot also be provided when using --b\nSee more help with --help',
        {
          exit: 2,
        },
      ),
    )
    expect(e.message).toBe('--a=1 cannot also be provided when using --b')
  })

  it('names the flag and the reason when a flag value does not parse', () => {
    const e = toIdtoolError(
      new Error(
        'Parsing --duration \n\tinvalid duration "5x" (use e.g. 500ms, 30s)\nSee more help with --help',
      ),
    )
    expect(e).toBeInstanceOf(UsageError)
    expect(e.message).toBe('--duration: invalid duration "5x" (use e.g. 500ms, 30s)')
  })

  it('keeps unknown errors as runtime failures with their first line only', () => {
    const e = toIdtoolError(new TypeError('boom\n    at somewhere'))
    expect(e.exitCode).toBe(1)
    expect(e.message).toBe('boom')
  })

  it('names the network failure and the fix', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const e = connectionErrorFor('http://127.0.0.1:1/v3', refused)
    expect(e).toBeInstanceOf(ConnectionError)
    expect(e.message).toBe('cannot reach http://127.0.0.1:1/v3: connection refused')
    expect(e.hint).toMatch(/lab up/)
    expect(e.code).toBe('ECONNREFUSED')
    const tls = connectionErrorFor(
      'https://x',
      Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    )
    expect(tls.hint).toMatch(/cacert/)
  })

  it('classifies transport errors', () => {
    const err = (code: string) => Object.assign(new Error(code), { code })
    expect(networkErrorClass(err('ECONNREFUSED'))).toBe('connect')
    expect(networkErrorClass(err('UND_ERR_HEADERS_TIMEOUT'))).toBe('timeout')
    expect(networkErrorClass(err('ECONNRESET'))).toBe('reset')
    expect(networkErrorClass(err('UND_ERR_SOCKET'))).toBe('reset')
    expect(networkErrorClass(err('CERT_HAS_EXPIRED'))).toBe('tls')
    expect(networkErrorClass(new Error('weird'))).toBe('other')
    expect(networkErrorClass({ cause: err('ECONNREFUSED') })).toBe('connect')
  })
})
