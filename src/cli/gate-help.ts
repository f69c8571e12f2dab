/** How the gate judges results: the method part of the help of `idtool gate` and `idtool run`. */
export const GATE_METHOD_HELP = `THRESHOLDS
METRIC OP VALUE, OP one of < <= > >= == !=: "p99 < 250ms", "p50 <= 40ms",
"rps >= 150", "errors.rate < 0.1%", "unexpectedStatus == 0",
"backends.*.p99 < 400ms" (every backend must pass), "leak == false".
Latencies take ms, s or us (a plain number is ms); ratios take % or a
fraction. Each check reports its actual value, limit and pass/fail; a metric
missing from the result fails its check.

EXPECTED ANSWERS AND FAILURES (bench validate, bench sweep)
rps, p50...max, cold.*, warm.* and backends.*.p99 are those of the expected
answers only (200 for a valid token, 404 for a revoked one). Unexpected
answers (a 503 of a load balancer with no backend left, a 500, a 200 for a
revoked token) and transport errors are failures, judged apart:
"failures.rate" (failures over all requests), "failures.count",
"failures.rps", "failures.p99" (their latency), "unexpected.count",
"unexpected.rate". A run with no expected answer has no latency: p50 and
the like are n/a and their thresholds fail.

BENCH MIXED (per phase)
"before.p99", "during.p99", "after.p99" (also p50...max, rps, failures,
failures.rate, unexpected, errors, events.start, events.end per phase),
"validations.failed" (all phases), "revocations.p99", "revocations.failed",
"revocations.failures.deadlock" (or lock-wait-timeout, database-locked,
http-409, http-5xx, timeout, http-other, transport; "*" for every kind).

DEFAULT CHECK
Every gate of bench validate and bench sweep results (sweeps: every point)
adds "failures.rate < 1% (default)", listed with the other checks, in the
JUnit file and the Markdown summary: a run whose requests failed measured
no working service, however fast its failures came back (like Rally's
default failure_rate SLA). An explicit threshold on failures.rate, from
--threshold or the scenario, replaces it: "failures.rate == 0" to allow no
failure at all, "failures.rate <= 100%" to turn the check off.

SEVERAL CURRENT FILES
Results of parallel load generators (bench validate results whose time
windows overlap) are merged first: histograms added exactly, counts and
throughput summed, so thresholds judge the whole load. Results taken one
after the other are separate runs: each must pass every threshold, and their
spread measures the noise for the baseline comparison. --merge all|none
overrides the grouping.

BASELINE COMPARISON (noise-aware)
For each --max-regression METRIC=PCT (default for bench validate: p50, p99
and rps at 10%), the mean over the current runs is compared with the mean
over the baseline runs, in the bad direction for that metric (higher
latency, lower throughput). A regression is called only when BOTH hold:
(1) the mean got worse by more than PCT, and (2) the change exceeds the
run-to-run spread: a one-sided Welch t-test at 95% confidence,
t = worsening / sqrt(sB^2/nB + sC^2/nC) above t(0.95, Welch-Satterthwaite
df). With several runs on one side only, that side's spread stands for
both. With one run on each side the noise is unknown: the percentage alone
decides, and the check says so. Give 2 or more runs on each side (3 and 3
is good) so that a noisy CI machine does not fail the gate.`
