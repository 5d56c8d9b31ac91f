#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs and starts what the tests need,
# checks that no file names a path outside the repository, builds, type-checks, lints, runs
# every test, and ends with `N passed, N failed[, N skipped]` (test/summary/summarise.mjs:
# anything that did not pass, deliberate skips aside, is a failure).
set -uo pipefail
cd "$(dirname "$0")/.."
summary_file=${BERTH_SUMMARY_FILE:-.state/test-summary.txt}
mkdir -p .state "$(dirname "$summary_file")"

bash test/backends/install.sh || { echo "0 passed, 1 failed" | tee "$summary_file"; exit 1; }
export BERTH_REQUIRE_BACKENDS=1
# The Swift and Keystone this checkout starts stop with the run: one left behind outlives its state directory.
trap 'bash test/backends/keystone.sh stop; bash test/backends/swift.sh stop' EXIT
swift_env=$(bash test/backends/swift.sh start) && eval "$swift_env"  # the swift driver suite and test/swift; a failed start fails those tests
keystone_env=$(bash test/backends/keystone.sh start) && eval "$keystone_env"  # Keystone v3 in front of that Swift (test/swift/keystone-v3)
# The bus specs and the distributed topology need Redis (reused when one already answers).
BERTH_TEST_REDIS_ADDR=$(bash test/backends/redis.sh start | sed 's|^redis://||') || { echo "0 passed, 1 failed" | tee "$summary_file"; exit 1; }
export BERTH_TEST_REDIS_ADDR

checks_failed=0
bash test/check-standalone.sh || checks_failed=$((checks_failed + 1))
pnpm build || checks_failed=$((checks_failed + 1))
pnpm typecheck || checks_failed=$((checks_failed + 1))
pnpm lint || checks_failed=$((checks_failed + 1))

# Every run writes vitest's JSON report plus the errors no test owns (test/summary/json-reporter.mjs).
reporters=(--reporter=default --reporter=./test/summary/json-reporter.mjs)

report=.state/vitest-report.json
rm -f "$report"
pnpm exec vitest run "${reporters[@]}" --outputFile="$report"
status=$?

# The same end-to-end suites again, against the services as separate processes over Redis.
# One file at a time: each starts six processes, and the machine has two cores.
distributed_report=.state/vitest-report-distributed.json
rm -f "$distributed_report"
BERTH_E2E_TARGET=distributed pnpm exec vitest run test/e2e test/clients --no-file-parallelism \
  "${reporters[@]}" --outputFile="$distributed_report"
distributed_status=$?

# The e2e expectations checked against Distribution 2.8 itself: what the reference passes stays
# true to the registry berth replaces, and each `beyondReference` test meets the reference's own answer.
reference_report=.state/vitest-report-reference.json
rm -f "$reference_report"
BERTH_E2E_TARGET=reference pnpm exec vitest run test/e2e "${reporters[@]}" --outputFile="$reference_report"
reference_status=$?

node test/summary/summarise.mjs "$checks_failed" "$status" "$report" "$distributed_status" "$distributed_report" \
  "$reference_status" "$reference_report" | tee "$summary_file"
summary_status=${PIPESTATUS[0]}
[ "$summary_status" -eq 0 ] && [ "$status" -eq 0 ] && [ "$distributed_status" -eq 0 ] && [ "$reference_status" -eq 0 ] && [ "$checks_failed" -eq 0 ]
