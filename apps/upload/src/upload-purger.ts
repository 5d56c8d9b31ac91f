import { Inject, Injectable, Logger } from '@nestjs/common';
import { formatGoDuration } from '@berth/config';
import { isValidRepositoryName, pathFor } from '@berth/oci';
import { PathNotFoundError, pathExists, STORAGE_DRIVER, type StorageDriver } from '@berth/storage-driver';
import { uploadPaths } from './upload-paths';
import { UPLOAD_PURGING_SETTINGS, type UploadPurgingSettings } from './upload-settings';

/** What one purge run did. With `dryRun`, `removed` counts what it would have removed. */
export interface UploadPurgeReport {
  dryRun: boolean;
  /** Uploads started before this were stale. */
  olderThan: Date;
  removed: number;
  /** Uploads left in place: started recently, or with no readable start time. */
  kept: number;
  /** Of `kept`: those whose `startedat` is missing or not an RFC 3339 time. */
  undated: number;
  /** Uploads the run could not look at or remove (a backend error); the next run tries again. */
  failed: number;
  /** Backend objects that no file owns, removed by the driver (`purgeOrphans`); undefined when the driver has none. */
  orphans?: number;
  /** The run was stopped (the process is shutting down) before it went through every upload. */
  stopped: boolean;
}

/** One upload session in storage: `_uploads/<id>/` of a repository. */
interface StoredUpload {
  repository: string;
  id: string;
}

/**
 * Removes upload sessions that were started more than `uploadpurging.age` ago and never
 * finished or cancelled, after Distribution's `registry/storage/purgeuploads.go`, with its
 * rules: an upload's age is the time in its `startedat` file; an upload without a readable
 * one is kept (the reference dates it far in the future); only directories named by a UUID
 * are uploads. An upload younger than the age is never touched, and one that disappears
 * while the run looks at it (finished meanwhile) is no error.
 */
@Injectable()
export class UploadPurger {
  private readonly logger = new Logger('upload-purging');

  constructor(
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
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
    for await (const upload of storedUploads(this.driver, signal)) {
      try {
        const outcome = await this.purgeUpload(upload, report.olderThan, dryRun);
        if (outcome === 'removed') report.removed++;
        if (outcome === 'kept' || outcome === 'undated') report.kept++;
        if (outcome === 'undated') report.undated++;
      } catch (error) {
        report.failed++;
        failures.push(`${upload.repository} upload ${upload.id}: ${messageOf(error)}`);
      }
    }
    report.stopped = signal?.aborted === true;
    if (!report.stopped && this.driver.purgeOrphans) {
      try {
        report.orphans = (await this.driver.purgeOrphans(report.olderThan, { dryRun })).length;
      } catch (error) {
        failures.push(`orphaned objects: ${messageOf(error)}`);
      }
    }
    this.logReport(report, failures);
    return report;
  }

  private async purgeUpload({ repository, id }: StoredUpload, olderThan: Date, dryRun: boolean): Promise<'removed' | 'kept' | 'undated' | 'gone'> {
    const paths = uploadPaths(repository, id);
    let text: string;
    try {
      text = (await this.driver.getContent(paths.startedAt)).toString('utf8');
    } catch (error) {
      if (!(error instanceof PathNotFoundError)) throw error;
      return (await pathExists(this.driver, paths.directory)) ? 'undated' : 'gone';
    }
    const startedAt = parseStartedAt(text);
    if (startedAt === undefined) return 'undated';
    if (startedAt >= olderThan) return 'kept';
    if (!dryRun) {
      try {
        await this.driver.delete(paths.directory);
      } catch (error) {
        if (error instanceof PathNotFoundError) return 'gone';
        throw error;
      }
    }
    this.logger.debug(`${dryRun ? 'would remove' : 'removed'} ${repository} upload ${id}, started ${startedAt.toISOString()}`);
    return 'removed';
  }

  private logReport(report: UploadPurgeReport, failures: string[]): void {
    const parts = [
      `${report.dryRun ? 'dry run: would remove' : 'removed'} ${report.removed} uploads started more than ${formatGoDuration(this.settings.ageMs)} ago (before ${report.olderThan.toISOString()})`,
      `kept ${report.kept}${report.undated > 0 ? ` (${report.undated} without a readable startedat)` : ''}`,
    ];
    if (report.orphans !== undefined) parts.push(`${report.dryRun ? 'would remove' : 'removed'} ${report.orphans} orphaned backend objects`);
    if (report.stopped) parts.push('stopped early: shutting down');
    if (failures.length > 0) parts.push(`${failures.length} failed, first: ${failures[0]}`);
    const line = `upload purge: ${parts.join('; ')}`;
    if (failures.length > 0) this.logger.warn(line);
    else this.logger.log(line);
  }
}

// Only these are uploads (berth's and the reference's ids); anything else under `_uploads` is
// left alone, as the reference's uuidFromPath does.
const UPLOAD_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Every upload session in storage, one repository directory listed at a time. Like the
 * reference's walk it skips the other reserved directories (`_layers`, `_manifests`) instead
 * of descending into every link of the registry.
 */
async function* storedUploads(driver: StorageDriver, signal: AbortSignal | undefined): AsyncGenerator<StoredUpload> {
  const root = pathFor({ kind: 'repositoriesRoot' });
  async function* below(directory: string): AsyncGenerator<StoredUpload> {
    if (signal?.aborted) return;
    const name = directory.slice(root.length + 1);
    const uploadsDir = name !== '' && isValidRepositoryName(name) ? pathFor({ kind: 'uploadsDir', repository: name }) : undefined;
    for (const child of await listIfPresent(driver, directory)) {
      if (child === uploadsDir) {
        for (const upload of await listIfPresent(driver, child)) {
          const id = upload.slice(upload.lastIndexOf('/') + 1);
          if (UPLOAD_UUID.test(id)) yield { repository: name, id };
        }
      } else if (!child.slice(child.lastIndexOf('/') + 1).startsWith('_')) {
        yield* below(child);
      }
      if (signal?.aborted) return;
    }
  }
  yield* below(root);
}

/** The children of `directory`, in order; none when it is gone (or a file). */
async function listIfPresent(driver: StorageDriver, directory: string): Promise<string[]> {
  try {
    return (await driver.list(directory)).sort();
  } catch (error) {
    if (error instanceof PathNotFoundError) return [];
    throw error;
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
