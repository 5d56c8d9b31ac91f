import { describe, expect, it } from 'vitest';
import { InMemoryDriver } from '../drivers/inmemory/inmemory.driver';
import { collectWalk, readAll } from '../../test/suite-context';
import { RegulatedDriver, Regulator } from './regulator';

/** A promise and the means to settle it from outside. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Regulator', () => {
  it('runs at most `limit` calls at once and starts the others in arrival order', async () => {
    const regulator = new Regulator(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const calls = gates.map((g, index) =>
      regulator.run(async () => {
        started.push(index);
        await g.promise;
        return index;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    expect(regulator.inFlight).toBe(2);
    gates[1]!.open();
    await calls[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3]);
    expect(regulator.inFlight).toBe(0);
  });

  it('frees the slot of a call that fails', async () => {
    const regulator = new Regulator(1);
    await expect(regulator.run(() => Promise.reject(new Error('backend down')))).rejects.toThrow('backend down');
    expect(await regulator.run(async () => 'next')).toBe('next');
    expect(regulator.inFlight).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new Regulator(0)).toThrow(RangeError);
  });
});

describe('RegulatedDriver', () => {
  it('bounds concurrent backend calls to its limit', async () => {
    const inner = new InMemoryDriver();
    let running = 0;
    let peak = 0;
    const slow = Object.assign(Object.create(inner) as InMemoryDriver, {
      putContent: async (path: string, content: Buffer) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 2));
        running--;
        return inner.putContent(path, content);
      },
    });
    const regulated = new RegulatedDriver(slow, 3);
    await Promise.all(Array.from({ length: 20 }, (_, index) => regulated.putContent(`/f${index}`, Buffer.from('x'))));
    expect(peak).toBe(3);
    expect(await inner.list('/')).toHaveLength(20);
  });

  it('holds no slot for an open stream or between walk steps', async () => {
    const inner = new InMemoryDriver();
    await inner.putContent('/a/file', Buffer.from('content'));
    const regulated = new RegulatedDriver(inner, 1);
    const reader = await regulated.reader('/a/file');
    // With a limit of one, these would wait forever if the reader or the walk kept its slot.
    for await (const info of regulated.walk('/')) {
      expect((await regulated.stat(info.path)).path).toBe(info.path);
    }
    expect((await readAll(reader)).toString()).toBe('content');
    expect((await collectWalk(regulated.walk('/'))).map((info) => info.path)).toEqual(['/a', '/a/file']);
  });
});
