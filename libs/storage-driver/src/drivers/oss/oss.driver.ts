import { ObjectStoreDriver } from '../object-store/object-store.driver';
import { type OssParams, OssObjects } from './oss.objects';

const MiB = 1024 * 1024;

/**
 * Alibaba Cloud OSS on `ali-oss`, with the reference's keys (`storage.oss`); the layout and
 * the writes are the object-store driver's. The reference has no multipart-copy keys for OSS:
 * its CopyObject takes objects up to 1 GiB, larger ones are copied in 32 MiB parts.
 */
export function createOssDriver(params: OssParams): ObjectStoreDriver {
  return new ObjectStoreDriver('oss', new OssObjects(params), {
    rootdirectory: params.rootdirectory,
    chunksize: params.chunksize,
    multipartcopythresholdsize: 1024 * MiB,
    multipartcopychunksize: 32 * MiB,
    multipartcopymaxconcurrency: 16,
  });
}
