import { JsonReporter } from 'vitest/reporters';

/**
 * vitest's JSON report plus the errors no test owns (an unhandled rejection, a worker that
 * died): the plain report leaves them out, and the summary must count them.
 */
export default class JsonReporterWithErrors extends JsonReporter {
  unhandledErrors = [];

  async onTestRunEnd(testModules, unhandledErrors, reason) {
    this.unhandledErrors = unhandledErrors.map((error) => error.stack ?? error.message ?? String(error));
    await super.onTestRunEnd(testModules, unhandledErrors, reason);
  }

  async writeReport(report) {
    await super.writeReport(JSON.stringify({ ...JSON.parse(report), unhandledErrors: this.unhandledErrors }));
  }
}
