import { createHash, randomBytes } from 'node:crypto';

/** Swift's default `max_object_name_length`; `/info` may say otherwise. */
export const DEFAULT_MAX_OBJECT_NAME_LENGTH = 1024;

/** The 16-digit segment number, as `%016d` in the reference driver. */
const SEGMENT_NUMBER = /^\d{16}$/;

/**
 * Where the driver keeps things in its container, as the reference driver does (so that
 * either registry can serve what the other wrote): the file at driver path `/a/b` is the
 * object `<prefix>/files/a/b`, and large files are written as numbered segments under
 * `<prefix>/segments/<h[0:3]>/<h[3:]>/`, one fresh random `h` per writer.
 */
export class SwiftLayout {
  private readonly prefix: string;

  constructor(prefix: string | undefined) {
    this.prefix = trimSlashes(prefix ?? '');
  }

  /** The object name of driver path `path`; `files` itself for the root. */
  objectName(path: string): string {
    return trimSlashes(`${this.prefix}/files${path}`);
  }

  /** The listing prefix of the directory `path`: its object name and a slash. */
  directoryPrefix(path: string): string {
    return `${this.objectName(path)}/`;
  }

  /** The listing prefix of every segment folder: `<prefix>/segments/`. */
  segmentsPrefix(): string {
    return `${trimSlashes(`${this.prefix}/segments`)}/`;
  }

  /** The driver path of an object or subdir name found in a listing of `files/`. */
  driverPath(name: string): string {
    return trimSlashes(name).slice(this.objectName('/').length) || '/';
  }

  /**
   * A new segment folder for a writer of `path`: `h = hex(path + 32 random bytes + sha1(""))`,
   * the reference's `sha1.New().Sum(append(path, random...))` (Sum appends the digest of
   * nothing), which is the shape of the seed listing. A path so long that the name would
   * pass Swift's limit is replaced by its SHA-256 there, keeping the shape.
   */
  newSegmentFolder(path: string, maxObjectNameLength = DEFAULT_MAX_OBJECT_NAME_LENGTH): string {
    const emptySha1 = createHash('sha1').digest();
    const random = randomBytes(32);
    let hex = Buffer.concat([Buffer.from(path), random, emptySha1]).toString('hex');
    const folder = (h: string) => trimSlashes(`${this.prefix}/segments/${h.slice(0, 3)}/${h.slice(3)}`);
    // Room for "/" and the 16-digit number after the folder.
    if (folder(hex).length + 17 > maxObjectNameLength) {
      hex = Buffer.concat([createHash('sha256').update(path).digest(), random, emptySha1]).toString('hex');
    }
    return folder(hex);
  }
}

/** The object name of segment `number` (from 1) in `folder`. */
export function segmentName(folder: string, number: number): string {
  return `${folder}/${String(number).padStart(16, '0')}`;
}

/** The folder and number of a segment named by this scheme, or undefined for any other name. */
export function parseSegmentName(name: string): { folder: string; number: number } | undefined {
  const slash = name.lastIndexOf('/');
  const last = name.slice(slash + 1);
  if (slash <= 0 || !SEGMENT_NUMBER.test(last)) return undefined;
  return { folder: name.slice(0, slash), number: Number(last) };
}

function trimSlashes(value: string): string {
  return value.replace(/^\/+|\/+$/g, '');
}
