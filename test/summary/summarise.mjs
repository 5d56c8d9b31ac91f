#!/usr/bin/env node
// The line test/run-all.sh ends with: `N passed, N failed[, N skipped]`, from the JSON reports of
// test/summary/json-reporter.mjs and the exit status of each vitest run.
//
//   node test/summary/summarise.mjs CHECKS_FAILED EXIT_STATUS REPORT [EXIT_STATUS REPORT ...]
//
// A test counts as passed only when it passed, and as skipped only when it was skipped on purpose
// (`skipDeliberately` of @berth/testing, whose reason is named here). Everything else is a failure:
// a failed or unrun test, any other skip, a file that failed outside its tests (a throwing
// afterAll), an error no test owns (an unhandled rejection, a worker that died), a missing report,
// and a run that exited non-zero with none of these in its report.
// The details go to stderr; stdout is the line alone, for the summary file. Exits 1 when the
// line says failed: a skip without a reason fails CI even when vitest exited 0.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [checksFailed, ...runs] = process.argv.slice(2);
let passed = 0;
const deliberateSkips = [];
const failures = [];

for (let i = 0; i < runs.length; i += 2) {
  const [exitStatus, reportFile] = [Number(runs[i]), runs[i + 1]];
  const failedBefore = failures.length;
  const report = existsSync(reportFile) ? JSON.parse(readFileSync(reportFile, 'utf8')) : undefined;
  if (report === undefined) failures.push(`${reportFile}: no report`);
  for (const file of report?.testResults ?? []) {
    const name = relative(process.cwd(), file.name);
    let failedInFile = 0;
    for (const test of file.assertionResults) {
      const reason = test.meta?.deliberateSkip;
      if (test.status === 'passed') passed += 1;
      else if (test.status === 'skipped' && typeof reason === 'string') deliberateSkips.push(`${name} > ${test.fullName}: ${reason}`);
      else {
        failedInFile += 1;
        failures.push(`${name} > ${test.fullName}: ${test.status}`);
      }
    }
    if (file.status === 'failed' && failedInFile === 0) failures.push(`${name}: failed outside its tests: ${file.message}`);
  }
  for (const error of report?.unhandledErrors ?? []) failures.push(`${reportFile}: unhandled error: ${error.split('\n')[0]}`);
  if (exitStatus !== 0 && failures.length === failedBefore) failures.push(`${reportFile}: vitest exited ${exitStatus}, its report shows no failure`);
}

const failed = Number(checksFailed) + failures.length;
if (Number(checksFailed) > 0) console.error(`not passed: ${checksFailed} of build, typecheck and lint`);
for (const skip of deliberateSkips) console.error(`skipped on purpose: ${skip}`);
for (const failure of failures) console.error(`not passed: ${failure}`);
console.log(`${passed} passed, ${failed} failed` + (deliberateSkips.length ? `, ${deliberateSkips.length} skipped` : ''));
process.exitCode = failed > 0 ? 1 : 0;
