import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { parsePluginRange, rangeAlerts } from '../../src/metrics/plugin-range.js'

// The reference: Perl's Monitoring::Plugin::Range (Debian libmonitoring-plugin-perl), which Nagios plugins
// written in Perl use. Every range text below goes through both; the parse outcome and the alert decision for
// every value must agree.
const RANGES = [
  '10',
  '10:',
  '~:10',
  '10:20',
  '@10:20',
  '@10',
  '@~:10',
  '@10:',
  '0',
  '0:0',
  '@0:0',
  ':10',
  '~:',
  '@~:',
  '-5:-1',
  '-5',
  '1.5:2.5',
  '+3:7',
  '1e2',
  '1e2:2e2',
  ' 10 : 20 ',
  '20:10',
  '@20:10',
  '~',
  '@',
  '',
  ':',
  'abc',
  '10:abc',
  '10::20',
  '10:20:30',
  '~10',
  '10~',
  '--1',
  '1..2',
  '5:5',
  '-1:1',
  '@-1:1',
  '1e-1:1e1',
]
const VALUES = [
  -1000, -5, -1, -0.5, 0, 0.1, 1, 1.5, 2.5, 5, 9.99, 10, 10.01, 15, 20, 20.5, 100, 150, 200, 201, 1e6,
]

interface Oracle {
  valid: boolean
  alerts: number[]
}

function perlOracle(ranges: string[], values: number[]): Oracle[] {
  const script = `
use strict; use warnings; no warnings 'numeric';
use JSON::PP; use Monitoring::Plugin::Range;
local $SIG{__WARN__} = sub {};
my $in = decode_json(do { local $/; <STDIN> });
my @out;
for my $r (@{$in->{ranges}}) {
  my $range = Monitoring::Plugin::Range->parse_range_string($r);
  if (!defined $range) { push @out, { valid => JSON::PP::false, alerts => [] }; next }
  push @out, { valid => JSON::PP::true, alerts => [ map { $range->check_range($_) ? 1 : 0 } @{$in->{values}} ] };
}
print encode_json(\\@out);`
  const out = execFileSync('perl', ['-e', script], {
    input: JSON.stringify({ ranges, values }),
    encoding: 'utf8',
  })
  return JSON.parse(out) as Oracle[]
}

describe('Monitoring Plugins ranges, as Monitoring::Plugin::Range reads them', () => {
  const oracle = perlOracle(RANGES, VALUES)

  it.each(RANGES.map((r, i) => [r, i] as const))('range %j', (text, i) => {
    const want = oracle[i]!
    let mine: ReturnType<typeof parsePluginRange> | undefined
    try {
      mine = parsePluginRange(text)
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError)
    }
    expect(mine !== undefined, `parse of ${JSON.stringify(text)}`).toBe(want.valid)
    if (mine) expect(VALUES.map((v) => (rangeAlerts(mine!, v) ? 1 : 0))).toEqual(want.alerts)
  })

  it('a refusal is one line naming the flag, with a hint of the syntax', () => {
    expect(() => parsePluginRange('20:10', '--critical')).toThrow(
      /^--critical "20:10" is not a threshold range$/,
    )
    try {
      parsePluginRange('abc')
    } catch (err) {
      expect((err as UsageError).hint).toMatch(/@10:20/)
    }
  })

  it('keeps the text as given, whitespace removed, for perfdata', () => {
    expect(parsePluginRange(' @10 : 20 ').text).toBe('@10:20')
  })
})
