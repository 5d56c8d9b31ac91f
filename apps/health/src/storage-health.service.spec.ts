import { InProcessHealthBoard } from '@berth/bus';
import type { BerthConfig } from '@berth/config';
import { createStorageDriver, type StorageDriver, StorageDriverError } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { StorageHealthService } from './storage-health.service';

/** The inmemory driver, with a switch that makes the backend fail as a stopped server would. */
function switchableDriver(): { driver: StorageDriver; down: (isDown: boolean) => void } {
  const real = createStorageDriver('inmemory', {});
  let isDown = false;
  const driver = new Proxy(real, {
    get(target, key, receiver) {
      if (key === 'stat' && isDown) return () => Promise.reject(new StorageDriverError('connection refused', 'inmemory'));
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { driver, down: (value) => (isDown = value) };
}

function service(threshold: number) {
  const { driver, down } = switchableDriver();
  const board = new InProcessHealthBoard();
  const config = { health: { storagedriver: { enabled: true, interval: 10_000, threshold } } } as BerthConfig;
  return { sut: new StorageHealthService(driver, board, config), board, down };
}

describe(StorageHealthService.name, () => {
  it('an empty storage (root not found) is healthy: the backend answered', async () => {
    const { sut, board } = service(3);
    expect((await sut.check()).healthy).toBe(true);
    expect((await board.current())?.checks).toEqual({ storagedriver_inmemory: { healthy: true, consecutiveFailures: 0 } });
  });

  it('turns unhealthy at the threshold-th consecutive failure, and healthy at the next good check', async () => {
    const { sut, board, down } = service(3);
    down(true);
    expect((await sut.check()).healthy).toBe(true);
    expect((await sut.check()).healthy).toBe(true);
    const failed = await sut.check();
    expect(failed.healthy).toBe(false);
    expect(failed.checks.storagedriver_inmemory).toMatchObject({ consecutiveFailures: 3, lastError: 'inmemory: connection refused' });
    expect((await board.current())?.healthy).toBe(false);
    down(false);
    expect((await sut.check()).healthy).toBe(true);
    expect((await board.current())?.healthy).toBe(true);
  });

  it('a good check in between resets the count', async () => {
    const { sut, down } = service(2);
    down(true);
    await sut.check();
    down(false);
    await sut.check();
    down(true);
    expect((await sut.check()).healthy).toBe(true);
  });
});
