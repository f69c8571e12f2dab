import { describe, expect, it } from 'vitest'
import { labRevocationStore } from '../../src/lab/revocations.js'
import type { CheckResult } from '../../src/results/check.js'
import { parseJson, runCli } from '../helpers/cli.js'
import { LAB_DIR, LAB_ENV } from '../integration/lab-env.js'

// The monitoring checks against the real lab Keystone (uwsgi behind haproxy).
describe('idtool check on the lab', () => {
  it('check revocations counts what the database holds, through the API and straight from the database', async () => {
    const rows = await labRevocationStore(LAB_DIR).count()
    const api = parseJson<CheckResult>(await runCli(['check', 'revocations', '--json'], { env: LAB_ENV }))
    const db = parseJson<CheckResult>(
      await runCli(['check', 'revocations', '--lab-db', '--json'], { env: LAB_ENV }),
    )
    expect(api.perfdata[0]).toMatchObject({ label: 'events', value: rows })
    expect(db.perfdata[0]).toMatchObject({ label: 'events', value: rows })
    // a critical range just below the count: CRITICAL, exit 2, the line says so
    const crit = await runCli(['check', 'revocations', '-w', `${rows + 10}`, '-c', `~:${rows - 1}`], {
      env: LAB_ENV,
    })
    expect(crit.code).toBe(2)
    expect(crit.stdout.split('\n')[0]).toBe(
      `IDTOOL REVOCATIONS CRITICAL - ${rows} revocation event${rows === 1 ? '' : 's'} | events=${rows};${rows + 10};~:${rows - 1};0;`,
    )
  })

  it('check validate: every validation answered 200, latency perfdata in ms, OK under wide ranges', async () => {
    const r = await runCli(['check', 'validate', '-n', '5', '-w', '5000', '-c', '30000', '--timeout', '60'], {
      env: LAB_ENV,
    })
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toMatch(
      /^IDTOOL VALIDATE OK - 5\/5 validations, p50 [\d.]+ ms .* \| p50=[\d.]+ms;5000;30000;0; /,
    )
    // and a critical range no validation can meet: CRITICAL (2), the measurement itself was fine
    const crit = await runCli(['check', 'validate', '-n', '2', '-c', '0.001', '--timeout', '60'], {
      env: LAB_ENV,
    })
    expect(crit.code).toBe(2)
    expect(crit.stdout).toMatch(/^IDTOOL VALIDATE CRITICAL - 2\/2 validations/)
  })

  it('a wrong password is UNKNOWN (3), never WARNING or CRITICAL', async () => {
    const r = await runCli(['check', 'validate'], {
      env: {
        ...LAB_ENV,
        OS_CLOUD: '',
        OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
        OS_USERNAME: 'admin',
        OS_PASSWORD: 'not-the-password',
        OS_PROJECT_NAME: 'admin',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
      },
    })
    expect(r.code).toBe(3)
    expect(r.stdout).toMatch(/^IDTOOL VALIDATE UNKNOWN - Keystone rejected the credentials .*401/)
  })
})
