import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type MultipartUpload,
  S3Client,
} from '@aws-sdk/client-s3';
import { swiftBackend } from './swift-backend';

/** The `storage.s3` keys that reach the S3 API of the test Swift (its `s3api` middleware). */
export interface S3Backend {
  region: string;
  regionendpoint: string;
  forcepathstyle: boolean;
  accesskey: string;
  secretkey: string;
}

/**
 * S3 on the Swift all-in-one of test/backends/swift.sh: the proxy speaks S3 at its root,
 * tempauth's `account:user` is the access key and its key the secret (TESTBED.md).
 */
export function s3Backend(): S3Backend {
  const swift = swiftBackend();
  return {
    region: 'us-east-1',
    regionendpoint: new URL(swift.authurl).origin,
    forcepathstyle: true,
    accesskey: swift.username,
    secretkey: swift.password,
  };
}

/** A client of the same endpoint, for looking at the bucket behind the driver's back. */
export function s3Client(backend: S3Backend): S3Client {
  return new S3Client({
    region: backend.region,
    endpoint: backend.regionendpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: backend.accesskey, secretAccessKey: backend.secretkey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates `bucket` unless it exists (the reference's s3 driver wants it there before it starts). */
export async function ensureBucket(backend: S3Backend, bucket: string): Promise<void> {
  const client = s3Client(backend);
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  } finally {
    client.destroy();
  }
}

/** Every multipart upload still open in `bucket` below `prefix` (ListMultipartUploads). */
export async function listMultipartUploads(backend: S3Backend, bucket: string, prefix = ''): Promise<MultipartUpload[]> {
  const client = s3Client(backend);
  try {
    const uploads: MultipartUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      uploads.push(...(page.Uploads ?? []));
      if (!page.IsTruncated) return uploads;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  } finally {
    client.destroy();
  }
}

/** Every object key in `bucket` below `prefix`. */
export async function listBucket(backend: S3Backend, bucket: string, prefix = ''): Promise<string[]> {
  const client = s3Client(backend);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  } finally {
    client.destroy();
  }
}

/** Empties `bucket` below `prefix`: objects and open multipart uploads. */
export async function emptyBucket(backend: S3Backend, bucket: string, prefix = ''): Promise<void> {
  const client = s3Client(backend);
  try {
    for (const upload of await listMultipartUploads(backend, bucket, prefix)) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    // One by one: DeleteObjects carries a CRC32 that Swift's s3api refuses.
    for (const Key of await listBucket(backend, bucket, prefix)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
  } finally {
    client.destroy();
  }
}
