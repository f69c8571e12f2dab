import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { checkResult, judge, judgedPerfdatum, parseThresholds, worse } from '../../src/check/plugin.js'
import { perfdatum, renderPluginOutput } from '../../src/report/plugin.js'
import type { Perfdatum } from '../../src/results/check.js'

/** Parse perfdata with the reference, Perl's Monitoring::Plugin::Performance. */
function perlParse(perf: string): Array<Record<string, string | null>> {
  const script = `
use strict; use warnings; use JSON::PP; use Monitoring::Plugin::Performance;
my $s = do { local $/; <STDIN> };
my @p = Monitoring::Plugin::Performance->parse_perfstring($s);
my @out;
for my $x (@p) {
  my %h = map { ($_ => (defined $x->$_ ? "" . $x->$_ : undef)) } qw(label value uom min max);
  $h{warning} = $x->threshold->warning->is_set ? "" . $x->threshold->warning : undef;
  $h{critical} = $x->threshold->critical->is_set ? "" . $x->threshold->critical : undef;
  push @out, \\%h;
}
print encode_json(\\@out);`
  return JSON.parse(execFileSync('perl', ['-e', script], { input: perf, encoding: 'utf8' }))
}

describe('perfdata, as Monitoring::Plugin::Performance parses it', () => {
  const cases: Perfdatum[] = [
    { label: 'events', value: 23, warning: '100', critical: '1000', min: 0 },
    { label: 'p50', value: 4.213, uom: 'ms', warning: '50', critical: '200', min: 0 },
    { label: 'failures', value: 0, min: 0, max: 10 },
    { label: 'issue time', value: 120.5, uom: 'ms' },
    // (the reference's perfdata parser does not read "@" ranges, which the guidelines allow: not tested here)
    { label: 'x', value: 7, warning: '10:20', critical: '~:30' },
  ]
  it('every field reads back as written', () => {
    const line = cases.map(perfdatum).join(' ')
    const parsed = perlParse(line)
    expect(parsed).toHaveLength(cases.length)
    cases.forEach((c, i) => {
      const p = parsed[i]!
      expect(p.label).toBe(c.label)
      expect(Number(p.value)).toBe(c.value)
      expect(p.uom ?? '').toBe(c.uom ?? '')
      expect(p.min === null || p.min === '' ? undefined : Number(p.min)).toBe(c.min)
      expect(p.max === null || p.max === '' ? undefined : Number(p.max)).toBe(c.max)
      expect(p.warning ?? undefined).toBe(c.warning)
      expect(p.critical ?? undefined).toBe(c.critical)
    })
  })

  it("writes the guidelines' own example", () => {
    expect(perfdatum({ label: 'events', value: 23, warning: '100', critical: '1000', min: 0 })).toBe(
      'events=23;100;1000;0;',
    )
    expect(perfdatum({ label: 'issue time', value: 1.23456, uom: 'ms' })).toBe("'issue time'=1.235ms")
  })
})

describe('the status line', () => {
  it('is IDTOOL NAME STATUS - text | perfdata, detail lines after it, no stray pipe', () => {
    const t = parseThresholds('100', '1000')
    const r = checkResult('check.revocations', 'REVOCATIONS', judge(23, t), '23 revocation events', {
      perfdata: [judgedPerfdatum({ label: 'events', value: 23, min: 0 }, t)],
      details: ['counted by a | b'],
    })
    expect(r.exitCode).toBe(0)
    expect(renderPluginOutput(r)).toBe(
      'IDTOOL REVOCATIONS OK - 23 revocation events | events=23;100;1000;0;\ncounted by a / b',
    )
  })

  it('judges critical before warning, and each range by itself', () => {
    const t = parseThresholds('10', '20')
    expect([5, 15, 25, -1].map((v) => judge(v, t))).toEqual(['OK', 'WARNING', 'CRITICAL', 'CRITICAL'])
    expect(judge(1e9, parseThresholds())).toBe('OK')
    expect(worse('OK', 'WARNING')).toBe('WARNING')
    expect(worse('CRITICAL', 'UNKNOWN')).toBe('CRITICAL')
  })
})
