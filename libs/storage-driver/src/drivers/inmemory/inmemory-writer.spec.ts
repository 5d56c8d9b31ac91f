import { describe, expect, it } from 'vitest';
import { MemoryFile, MemoryTree } from './inmemory-tree';
import { InMemoryWriter } from './inmemory-writer';

describe('InMemoryWriter', () => {
  it('appends chunks to a list, never copying what was written before', async () => {
    const tree = new MemoryTree('inmemory');
    const file = new MemoryFile();
    tree.place('/data', file);
    const writer = new InMemoryWriter(tree, file, '/data', 'inmemory');
    writer.write(Buffer.from('one'));
    const firstChunk = file.chunks[0];
    writer.write(Buffer.from('two'));
    writer.write(Buffer.from('three'));
    await writer.commit();
    expect(file.chunks).toHaveLength(3);
    expect(file.chunks[0]).toBe(firstChunk);
    expect(file.size).toBe(11);
  });

  it('copies each chunk once, so the caller may reuse its buffer', async () => {
    const tree = new MemoryTree('inmemory');
    const file = new MemoryFile();
    tree.place('/data', file);
    const writer = new InMemoryWriter(tree, file, '/data', 'inmemory');
    const reused = Buffer.from('abc');
    writer.write(reused);
    reused.fill(0x7a);
    writer.write(reused);
    await writer.commit();
    expect(Buffer.concat(file.chunks).toString()).toBe('abczzz');
  });
});
