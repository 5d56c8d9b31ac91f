#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs and starts what the tests need,
# checks that no file names a path outside the repository, builds, type-checks, lints, runs
# every test, and ends with `N passed, N failed`.
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

report=.state/vitest-report.json
rm -f "$report"
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?

# The same end-to-end suites again, against the services as separate processes over Redis.
# One file at a time: each starts six processes, and the machine has two cores.
distributed_report=.state/vitest-report-distributed.json
rm -f "$distributed_report"
BERTH_E2E_TARGET=distributed pnpm exec vitest run test/e2e test/clients --no-file-parallelism \
  --reporter=default --reporter=json --outputFile.json="$distributed_report"
distributed_status=$?

node -e '
  const fs = require("fs");
  const [checksFailed, ...files] = process.argv.slice(1);
  let passed = 0, failed = Number(checksFailed), skipped = 0;
  for (const file of files) {
    const r = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : null;
    passed += r ? r.numPassedTests : 0;
    // A suite that crashed before running its tests counts as one failure, never as nothing.
    failed += r ? r.numFailedTests + r.testResults.filter((t) => t.status === "failed" && t.assertionResults.length === 0).length : 1;
    skipped += r ? r.numPendingTests + r.numTodoTests : 0;
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$checks_failed" "$report" "$distributed_report" | tee "$summary_file"
[ "$status" -eq 0 ] && [ "$distributed_status" -eq 0 ] && [ "$checks_failed" -eq 0 ]
