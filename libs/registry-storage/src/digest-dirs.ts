import { checkDigest, type Digest } from '@berth/oci';
import type { StorageDriver } from '@berth/storage-driver';
import { baseName, listOrEmpty } from './listing';

/**
 * The digests named by `<directory>/<algorithm>/<hex>` (`_layers`, `_manifests/revisions`, a
 * tag's `index`), one algorithm directory listed at a time. Names that are no digest berth
 * knows (foreign files in a shared bucket) are passed over.
 */
export async function* digestsIn(driver: StorageDriver, directory: string): AsyncGenerator<Digest[]> {
  for (const algorithmDir of await listOrEmpty(driver, directory)) {
    const algorithm = baseName(algorithmDir);
    const digests: Digest[] = [];
    for (const hexDir of await listOrEmpty(driver, algorithmDir)) {
      const checked = checkDigest(`${algorithm}:${baseName(hexDir)}`);
      if (checked.ok) digests.push(checked.digest);
    }
    yield digests;
  }
}
