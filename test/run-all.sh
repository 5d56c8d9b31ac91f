#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs and starts what the tests need,
# builds, type-checks, lints, runs every test, and ends with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
summary_file=${BERTH_SUMMARY_FILE:-.state/test-summary.txt}
mkdir -p .state "$(dirname "$summary_file")"

bash test/backends/install.sh || { echo "0 passed, 1 failed" | tee "$summary_file"; exit 1; }
export BERTH_REQUIRE_BACKENDS=1
swift_env=$(bash test/backends/swift.sh start) && eval "$swift_env"  # the swift driver suite and test/swift; a failed start fails those tests

checks_failed=0
pnpm build || checks_failed=$((checks_failed + 1))
pnpm typecheck || checks_failed=$((checks_failed + 1))
pnpm lint || checks_failed=$((checks_failed + 1))

report=.state/vitest-report.json
rm -f "$report"
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?

node -e '
  const fs = require("fs");
  const [file, checksFailed] = process.argv.slice(1);
  const r = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : null;
  const passed = r ? r.numPassedTests : 0;
  // A suite that crashed before running its tests counts as one failure, never as nothing.
  const failed = (r ? r.numFailedTests + r.testResults.filter((t) => t.status === "failed" && t.assertionResults.length === 0).length : 1) + Number(checksFailed);
  const skipped = r ? r.numPendingTests + r.numTodoTests : 0;
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" "$checks_failed" | tee "$summary_file"
[ "$status" -eq 0 ] && [ "$checks_failed" -eq 0 ]
