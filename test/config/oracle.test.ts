import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ORACLE_CASES } from './oracle-cases.js'
import { HAVE_CLIENT, OracleRun } from './oracle-runner.js'

/** The table of test/config/oracle-cases.ts, case by case against the real openstack client. */

const oracle = new OracleRun()
beforeAll(() => {
  if (HAVE_CLIENT) oracle.run(ORACLE_CASES)
}, 60_000)
afterAll(() => oracle.cleanup())

describe.skipIf(!HAVE_CLIENT)('resolver against the openstack client (oracle table)', () => {
  it('has at least 25 cases, refusals among them', () => {
    expect(ORACLE_CASES.length).toBeGreaterThanOrEqual(25)
    expect(ORACLE_CASES.filter((c) => c.refused).length).toBeGreaterThanOrEqual(8)
  })

  for (const c of ORACLE_CASES) it(c.id, () => oracle.check(c))
})
