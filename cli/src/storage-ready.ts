import { setTimeout as sleep } from 'node:timers/promises';
import type { LoggerService } from '@nestjs/common';
import { type StorageDriver, unreachableCode } from '@berth/storage-driver';

/**
 * The storage backend's `ready()` (Swift: log in, find the container), asked again every
 * second while the backend cannot be reached, with one line saying so: a registry started
 * before its storage (a host's reboot) serves once the storage comes, as it does once Redis
 * comes (issue 15). A backend that answers and refuses (credentials, no endpoint) stops
 * start-up at once: that is the operator's to fix.
 */
export async function untilStorageAnswers(driver: StorageDriver, logger: Pick<LoggerService, 'log' | 'warn'>): Promise<void> {
  let waiting = false;
  for (;;) {
    try {
      await driver.ready?.();
      if (waiting) logger.log(`the storage backend (${driver.name}) answers`, 'storage');
      return;
    } catch (error) {
      const code = unreachableCode(error);
      if (code === undefined) throw error;
      // The code only: the message may carry the backend's URL, credentials included.
      if (!waiting) logger.warn(`waiting for the storage backend (${driver.name}) to answer: ${code}`, 'storage');
      waiting = true;
      await sleep(1_000);
    }
  }
}
