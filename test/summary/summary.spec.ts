import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTempDir, repoRoot } from '@berth/testing';

const fixtures = join(__dirname, 'fixtures');

/** Runs vitest on one throwaway fixture as test/run-all.sh runs the suite, then the summariser on its report. */
async function summarise(fixture: string, exitStatusOverride?: number): Promise<{ line: string; details: string; status: number }> {
  const dir = await createTempDir('berth-summary-');
  try {
    const report = join(dir.path, 'report.json');
    const vitest = await run(process.execPath, [
      join(repoRoot, 'node_modules/vitest/vitest.mjs'), 'run', '--root', fixtures, '--config', join(fixtures, 'vitest.config.mts'),
      `${fixture}.fixture.ts`, `--reporter=${join(__dirname, 'json-reporter.mjs')}`, `--outputFile=${report}`,
    ]);
    const exitStatus = exitStatusOverride ?? vitest.status;
    const summary = await run(process.execPath, [join(__dirname, 'summarise.mjs'), '0', String(exitStatus), report]);
    return { line: summary.stdout.trim(), details: summary.stderr, status: summary.status };
  } finally {
    await dir.remove();
  }
}

function run(command: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  // Not the outer run's worker variables: the inner vitest must behave as a top-level run.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, env }, (error, stdout, stderr) => {
      resolve({ status: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('the summary line of test/run-all.sh', () => {
  it('counts a test whose beforeAll threw as failed, not skipped', async () => {
    const { line } = await summarise('throwing-before-all');
    expect(line).toBe('1 passed, 1 failed');
  });

  it('counts a throwing afterAll as a failure', async () => {
    const { line, details } = await summarise('throwing-after-all');
    expect(line).toBe('1 passed, 1 failed');
    expect(details).toContain('teardown failed');
  });

  it('counts an unhandled rejection as a failure', async () => {
    const { line, details } = await summarise('unhandled-rejection');
    expect(line).toBe('1 passed, 1 failed');
    expect(details).toContain('nobody awaits this');
  });

  it('counts the tests of a killed worker, and its death, as failures', async () => {
    const { line, details } = await summarise('killed-worker');
    // Whether the first test's pass reached the report before the kill is vitest's timing.
    expect(line).toMatch(/^[01] passed, [1-9]\d* failed$/);
    expect(details).toContain('never runs');
    expect(details).toContain('Worker forks emitted error');
  });

  it('counts a skip without a deliberate reason as a failure', async () => {
    const { line, status } = await summarise('plain-skip');
    expect(line).toBe('1 passed, 1 failed');
    expect(status).toBe(1);
  });

  it('shows a failure whenever vitest exited non-zero, even with a clean report', async () => {
    const { line, status } = await summarise('clean', 1);
    expect(line).toBe('1 passed, 1 failed, 1 skipped');
    expect(status).toBe(1);
  });

  it('says 0 failed for a clean run, and names each deliberate skip with its reason', async () => {
    const { line, details, status } = await summarise('clean');
    expect(line).toBe('1 passed, 0 failed, 1 skipped');
    expect(status).toBe(0);
    expect(details).toContain('lacks a capability: the driver has no purgeOrphans');
  });
});
