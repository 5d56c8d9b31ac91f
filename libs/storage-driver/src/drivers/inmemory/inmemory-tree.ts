import { PathNotFoundError, StorageDriverError } from '../../errors';
import { pathComponents } from '../../path';

/** A file's bytes as the chunks they were written in: appending never copies what is there. */
export class MemoryFile {
  readonly kind = 'file';
  chunks: Buffer[] = [];
  size = 0;
  modTime = new Date();

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.modTime = new Date();
  }
}

export class MemoryDirectory {
  readonly kind = 'directory';
  readonly children = new Map<string, MemoryNode>();
  modTime = new Date();
}

export type MemoryNode = MemoryFile | MemoryDirectory;

/** The in-memory namespace: directories exist while something is below them, as on the filesystem. */
export class MemoryTree {
  private readonly root = new MemoryDirectory();

  constructor(private readonly driverName: string) {}

  /** The node at `path`, or `PathNotFoundError`. */
  find(path: string): MemoryNode {
    let node: MemoryNode = this.root;
    for (const name of pathComponents(path)) {
      const child: MemoryNode | undefined = node.kind === 'directory' ? node.children.get(name) : undefined;
      if (!child) throw new PathNotFoundError(path, this.driverName);
      node = child;
    }
    return node;
  }

  findFile(path: string): MemoryFile {
    const node = this.find(path);
    if (node.kind !== 'file') throw new PathNotFoundError(path, this.driverName);
    return node;
  }

  /** Puts `file` at `path`, creating parent directories, replacing any file there. */
  place(path: string, file: MemoryFile): void {
    const names = pathComponents(path);
    const last = names.pop();
    if (last === undefined) throw new StorageDriverError('the root is not a file', this.driverName);
    let directory = this.root;
    for (const name of names) {
      let child = directory.children.get(name);
      if (!child) {
        child = new MemoryDirectory();
        directory.children.set(name, child);
      }
      if (child.kind !== 'directory') throw new StorageDriverError(`${name} in ${path} is a file`, this.driverName);
      directory = child;
    }
    if (directory.children.get(last)?.kind === 'directory') {
      throw new StorageDriverError(`${path} is a directory`, this.driverName);
    }
    directory.children.set(last, file);
    directory.modTime = new Date();
  }

  /** Removes the node at `path`; when `only` is given, only if that node is still there. */
  remove(path: string, only?: MemoryNode): void {
    const names = pathComponents(path);
    const last = names.pop();
    if (last === undefined) throw new StorageDriverError('the root cannot be removed', this.driverName);
    const parent = this.find(`/${names.join('/')}`);
    if (parent.kind !== 'directory' || !parent.children.has(last)) throw new PathNotFoundError(path, this.driverName);
    if (only && parent.children.get(last) !== only) return;
    parent.children.delete(last);
    parent.modTime = new Date();
  }
}
