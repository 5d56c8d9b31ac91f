import type { StorageDriverConfig } from './schema/storage.schema';
import type { BerthConfig } from './schema/config.schema';

/** The one configured storage driver: its name and its validated parameters. */
export function storageDriverOf(config: BerthConfig): StorageDriverConfig {
  return config.storage.driver;
}
