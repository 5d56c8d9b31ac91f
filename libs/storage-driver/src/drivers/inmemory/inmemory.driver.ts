import { Readable } from 'node:stream';
import { InvalidOffsetError, PathNotFoundError } from '../../errors';
import { childPath } from '../../path';
import type { FileInfo, FileWriter, StorageDriver } from '../../storage-driver';
import { walkByListing } from '../../walk';
import { MemoryFile, type MemoryNode, MemoryTree } from './inmemory-tree';
import { InMemoryWriter } from './inmemory-writer';

/**
 * Everything in this process's memory: for unit tests and the embedded default. It holds
 * every byte by nature; nothing else about it may differ from the other drivers, which is
 * what running it through the shared suite checks.
 */
export class InMemoryDriver implements StorageDriver {
  readonly name = 'inmemory';
  private readonly tree = new MemoryTree(this.name);

  async getContent(path: string): Promise<Buffer> {
    const file = this.tree.findFile(path);
    // Joined once and kept joined, so repeated reads of a link do not concatenate again.
    if (file.chunks.length > 1) file.chunks = [Buffer.concat(file.chunks, file.size)];
    return Buffer.from(file.chunks[0] ?? Buffer.alloc(0));
  }

  async putContent(path: string, content: Buffer): Promise<void> {
    const file = new MemoryFile();
    file.append(Buffer.from(content));
    this.tree.place(path, file);
  }

  async reader(path: string, offset = 0): Promise<Readable> {
    const file = this.tree.findFile(path);
    if (offset > file.size) throw new InvalidOffsetError(path, offset, this.name);
    // The chunk list as it is now: later appends do not leak into this read.
    return Readable.from(chunksFrom([...file.chunks], offset), { objectMode: false });
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    let file: MemoryFile;
    if (options.append) {
      file = this.tree.findFile(path);
    } else {
      file = new MemoryFile();
      this.tree.place(path, file);
    }
    return new InMemoryWriter(this.tree, file, path, this.name);
  }

  async stat(path: string): Promise<FileInfo> {
    return fileInfo(path, this.tree.find(path));
  }

  async list(path: string): Promise<string[]> {
    const node = this.tree.find(path);
    if (node.kind !== 'directory') throw new PathNotFoundError(path, this.name);
    return [...node.children.keys()].sort().map((name) => childPath(path, name));
  }

  async move(source: string, dest: string): Promise<void> {
    const file = this.tree.findFile(source);
    if (source === dest) return;
    this.tree.place(dest, file);
    this.tree.remove(source, file);
  }

  async delete(path: string): Promise<void> {
    this.tree.remove(path);
  }

  async redirectUrl(_path: string, _method: 'GET' | 'HEAD'): Promise<undefined> {
    return undefined;
  }

  walk(path: string): AsyncGenerator<FileInfo> {
    return walkByListing(this, path);
  }
}

function fileInfo(path: string, node: MemoryNode): FileInfo {
  return node.kind === 'file'
    ? { path, isDir: false, size: node.size, modTime: node.modTime }
    : { path, isDir: true, size: 0, modTime: node.modTime };
}

function* chunksFrom(chunks: Buffer[], offset: number): Generator<Buffer> {
  let skip = offset;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    yield skip > 0 ? chunk.subarray(skip) : chunk;
    skip = 0;
  }
}
