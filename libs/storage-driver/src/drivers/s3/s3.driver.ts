import { ObjectStoreDriver } from '../object-store/object-store.driver';
import { createS3Client, type S3Params } from './s3.client';
import { S3Objects } from './s3.objects';

/**
 * Amazon S3 and S3-compatible stores on the AWS SDK v3, with the reference's keys
 * (`storage.s3`); the layout and the writes are the object-store driver's.
 */
export function createS3Driver(params: S3Params): ObjectStoreDriver {
  const client = createS3Client(params);
  const presigner = params.redirectendpoint !== undefined ? createS3Client(params, params.redirectendpoint) : client;
  return new ObjectStoreDriver('s3', new S3Objects(client, params, presigner), params);
}
