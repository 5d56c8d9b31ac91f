import { Inject, Injectable, Logger } from '@nestjs/common';
import { formatGoDuration } from '@berth/config';
import { RegistryStorage } from '@berth/registry-storage';
import { UPLOAD_PURGING_SETTINGS, type UploadPurgingSettings } from './upload-settings';

/** What one purge run did. With `dryRun`, `removed` counts what it would have removed. */
export interface UploadPurgeReport {
  dryRun: boolean;
  /** Uploads started before this were stale. */
  olderThan: Date;
  removed: number;
  /** Uploads left in place: started recently. */
  kept: number;
  /**
   * Of `removed` and `kept`: those whose `startedat` is missing or not an RFC 3339 time (a POST
   * that failed on a full disk), dated by when their data was last written.
   */
  undated: number;
  /** Uploads the run could not look at or remove (a backend error); the next run tries again. */
  failed: number;
  /**
   * Backend objects that no file owns, removed by the driver (`purgeOrphans`: Swift's orphaned
   * segments, the filesystem's temporary files of writes killed mid-commit); undefined when the driver has none.
   */
  orphans?: number;
  /** The run was stopped (the process is shutting down) before it went through every upload. */
  stopped: boolean;
}

/**
 * Removes upload sessions that were started more than `uploadpurging.age` ago and never
 * finished or cancelled, after Distribution's `registry/storage/purgeuploads.go`, with its
 * rules: an upload's age is the time in its `startedat` file; only directories named by a UUID
 * are uploads. Unlike the reference, which dates an upload without a readable `startedat` far
 * in the future and so keeps it for ever, berth dates it by its data file's modification time. An upload younger than the age is never touched, and one that disappears
 * while the run looks at it (finished meanwhile) is no error.
 */
@Injectable()
export class UploadPurger {
  private readonly logger = new Logger('upload-purging');

  constructor(
    private readonly storage: RegistryStorage,
    @Inject(UPLOAD_PURGING_SETTINGS) readonly settings: UploadPurgingSettings,
  ) {}

  /** One run; logs one line saying what it did. `signal` stops it early (shutdown). */
  async purge(signal?: AbortSignal): Promise<UploadPurgeReport> {
    const { ageMs, dryRun } = this.settings;
    const report: UploadPurgeReport = {
      dryRun,
      olderThan: new Date(Date.now() - ageMs),
      removed: 0,
      kept: 0,
      undated: 0,
      failed: 0,
      stopped: false,
    };
    const failures: string[] = [];
    for await (const upload of this.storage.uploads.all({ signal })) {
      try {
        const outcome = await this.purgeUpload(upload, report.olderThan, dryRun);
        if (outcome === 'gone') continue;
        if (outcome.removed) report.removed++;
        else report.kept++;
        if (outcome.undated) report.undated++;
      } catch (error) {
        report.failed++;
        failures.push(`${upload.repository} upload ${upload.id}: ${messageOf(error)}`);
      }
    }
    report.stopped = signal?.aborted === true;
    const driver = this.storage.driver;
    if (!report.stopped && driver.purgeOrphans) {
      try {
        report.orphans = (await driver.purgeOrphans(report.olderThan, { dryRun })).length;
      } catch (error) {
        failures.push(`orphaned objects: ${messageOf(error)}`);
      }
    }
    this.logReport(report, failures);
    return report;
  }

  private async purgeUpload({ repository, id }: { repository: string; id: string }, olderThan: Date, dryRun: boolean): Promise<{ removed: boolean; undated: boolean } | 'gone'> {
    const started = await this.startedAt(repository, id);
    if (started === undefined) return 'gone';
    const { at, undated } = started;
    if (at >= olderThan) return { removed: false, undated };
    if (!dryRun && !(await this.storage.uploads.remove(repository, id))) return 'gone';
    this.logger.debug(`${dryRun ? 'would remove' : 'removed'} ${repository} upload ${id}, ${undated ? 'no startedat, data last written' : 'started'} ${at.toISOString()}`);
    return { removed: true, undated };
  }

  /**
   * When the upload started: its `startedat`, or, when that is missing or unreadable, when its
   * data was last written (`undated`); `undefined` when the upload is gone.
   */
  private async startedAt(repository: string, id: string): Promise<{ at: Date; undated: boolean } | undefined> {
    const text = await this.storage.uploads.startedAt(repository, id);
    const parsed = text === undefined ? undefined : parseStartedAt(text);
    if (parsed !== undefined) return { at: parsed, undated: false };
    const modified = await this.storage.uploads.modifiedAt(repository, id);
    return modified === undefined ? undefined : { at: modified, undated: true };
  }

  private logReport(report: UploadPurgeReport, failures: string[]): void {
    const parts = [
      `${report.dryRun ? 'dry run: would remove' : 'removed'} ${report.removed} uploads started more than ${formatGoDuration(this.settings.ageMs)} ago (before ${report.olderThan.toISOString()})`,
      `kept ${report.kept}`,
    ];
    if (report.undated > 0) parts.push(`${report.undated} of them without a readable startedat, dated by their data's modification time`);
    if (report.orphans !== undefined) {
      parts.push(`${report.dryRun ? 'would remove' : 'removed'} ${report.orphans} orphaned backend objects (temporary files or segments of interrupted writes)`);
    }
    if (report.stopped) parts.push('stopped early: shutting down');
    if (failures.length > 0) parts.push(`${failures.length} failed, first: ${failures[0]}`);
    const line = `upload purge: ${parts.join('; ')}`;
    if (failures.length > 0) this.logger.warn(line);
    else this.logger.log(line);
  }
}

// Go's time.RFC3339 as time.Parse reads it: fractional seconds optional, a zone required.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** The time in a `startedat` file, or undefined when it holds none. */
export function parseStartedAt(text: string): Date | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Date.parse rolls 2024-02-30 over into March; Go refuses it.
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return undefined;
  return new Date(Date.parse(text));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
