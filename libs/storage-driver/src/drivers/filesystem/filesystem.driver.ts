import { lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidOffsetError, PathNotFoundError } from '../../errors';
import type { DriverParams } from '../../params';
import { childPath, isValidPathComponent, ROOT_PATH } from '../../path';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage-driver';
import { walkByListing } from '../../walk';
import { asDriverFailure, isNotFound } from './filesystem-errors';
import { FileReadStream } from './file-read-stream';
import { FilesystemWriter } from './filesystem-writer';
import { closeFile, fstatFile, openFile, readDirectory, readSmallFile, statFile } from './host-files';
import { purgeLeftoverTemporaries, temporaryName } from './leftover-temporaries';

/**
 * The size of each read of a blob stream. Node's default (64 KiB) costs a thread-pool round
 * trip and a socket write per 64 KiB; larger reads serve a pull with far fewer of both, at this
 * much memory per open reader.
 */
const READ_CHUNK_BYTES = 512 * 1024;

/**
 * Files under `rootdirectory`, one host file per driver path, in Distribution's layout so
 * that the reference registry can serve the same directory. Paths reach it already
 * validated by `BaseDriver` (no `..`), so joining them onto the root cannot escape it.
 */
export class FilesystemDriver implements StorageDriver {
  readonly name = 'filesystem';
  private readonly root: string;

  constructor(params: Pick<DriverParams<'filesystem'>, 'rootdirectory'>) {
    // Without a trailing `/`: a driver path (validated, absolute) is appended as it is.
    this.root = normalize(params.rootdirectory).replace(/\/+$/, '');
  }

  /**
   * Removes the temporary files of `putContent`s killed before their rename (SIGKILL, a crash
   * mid-commit), last written before `olderThan`: nothing else ever would. Walks the whole root.
   */
  async purgeOrphans(olderThan: Date, options: { dryRun: boolean }): Promise<string[]> {
    try {
      return await purgeLeftoverTemporaries(this.root, olderThan, options.dryRun);
    } catch (error) {
      throw this.failure(error, ROOT_PATH);
    }
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      return await readSmallFile(this.hostPath(path));
    } catch (error) {
      // A directory holds no content: to callers it is as absent as on an object store.
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new PathNotFoundError(path, this.name);
      throw this.failure(error, path);
    }
  }

  /**
   * Written to a private file beside the target and renamed over it, so a reader sees the
   * old content or the new, never half a link file. The private name starts with `~`, outside
   * the path grammar, so listings never show it.
   */
  async putContent(path: string, content: Buffer): Promise<void> {
    const target = this.hostPath(path);
    const temporary = join(dirname(target), temporaryName());
    try {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(temporary, content, { flush: true });
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      throw this.failure(error, path);
    }
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    let fd;
    let size;
    try {
      fd = await openFile(this.hostPath(path), 'r');
      const info = await fstatFile(fd);
      if (info.isDirectory()) throw new PathNotFoundError(path, this.name);
      if (offset > info.size) throw new InvalidOffsetError(path, offset, this.name);
      size = info.size;
    } catch (error) {
      if (fd !== undefined) await closeFile(fd).catch(() => undefined);
      throw this.failure(error, path);
    }
    // The stream owns the descriptor from here and closes it when it ends or is destroyed.
    return new FileReadStream(fd, offset, size, READ_CHUNK_BYTES);
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const target = this.hostPath(path);
    try {
      if (options.append) {
        // Not O_APPEND: the writer writes at explicit offsets from the size it found.
        const fd = await openFile(target, 'r+');
        const { size } = await fstatFile(fd).catch(async (error: unknown) => {
          await closeFile(fd).catch(() => undefined);
          throw error;
        });
        return new FilesystemWriter(fd, target, path, this.name, size);
      }
      await mkdir(dirname(target), { recursive: true });
      const fd = await openFile(target, 'w');
      return new FilesystemWriter(fd, target, path, this.name, 0);
    } catch (error) {
      throw this.failure(error, path);
    }
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const info = await statFile(this.hostPath(path));
      if (info === undefined) throw new PathNotFoundError(path, this.name);
      return this.fileInfo(path, info);
    } catch (error) {
      throw this.failure(error, path);
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const names = await readDirectory(this.hostPath(path));
      return names.filter(isValidPathComponent).sort().map((name) => childPath(path, name));
    } catch (error) {
      // An empty storage has no root directory yet; the reference lists it as empty.
      if (path === ROOT_PATH && isNotFound(error)) return [];
      throw this.failure(error, path);
    }
  }

  async move(source: string, dest: string): Promise<void> {
    try {
      await lstat(this.hostPath(source));
    } catch (error) {
      throw this.failure(error, source);
    }
    try {
      await mkdir(dirname(this.hostPath(dest)), { recursive: true });
      await rename(this.hostPath(source), this.hostPath(dest));
    } catch (error) {
      throw this.failure(error, isNotFound(error) ? source : dest);
    }
  }

  async delete(path: string): Promise<void> {
    try {
      await lstat(this.hostPath(path));
      await rm(this.hostPath(path), { recursive: true, force: true });
    } catch (error) {
      throw this.failure(error, path);
    }
  }

  async redirectUrl(_path: string, _method: 'GET' | 'HEAD'): Promise<undefined> {
    return undefined;
  }

  walk(path: string): AsyncGenerator<FileInfo> {
    return walkByListing(this, path);
  }

  /** Paths reach the driver validated (no `.`, `..` or empty component): no `join`, whose normalising costs on every call. */
  private hostPath(path: string): string {
    return this.root + path;
  }

  private fileInfo(path: string, info: { isDirectory(): boolean; size: number; mtime: Date }): FileInfo {
    const isDir = info.isDirectory();
    return { path, isDir, size: isDir ? 0 : info.size, modTime: info.mtime };
  }

  private failure(error: unknown, path: string) {
    return asDriverFailure(error, path, this.name);
  }
}
