import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { BuildMiddleware, MetadataBearer } from '@smithy/types';
import type { DriverParams } from '../../params';

export type S3Params = DriverParams<'s3'>;

/**
 * The endpoint of `regionendpoint` as a URL: the reference accepted a bare host and chose
 * the scheme from `secure`, so berth does too.
 */
export function endpointUrl(endpoint: string, secure: boolean): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `${secure ? 'https' : 'http'}://${endpoint}`;
}

/**
 * An S3 client for the driver's parameters. Its own retries are off (`maxAttempts: 1`):
 * every call goes through the shared policy (`retry.ts`), which knows which bodies can be
 * sent twice. `endpoint` overrides `regionendpoint` (the redirect endpoint's presigner).
 */
export function createS3Client(params: S3Params, endpoint = params.regionendpoint): S3Client {
  const agentOptions = { keepAlive: true, maxSockets: 256 };
  const config: S3ClientConfig = {
    region: params.region,
    maxAttempts: 1,
    // The reference 2.8 went path-style whenever an endpoint was given (S3-compatible stores).
    forcePathStyle: params.forcepathstyle ?? params.regionendpoint !== undefined,
    useDualstackEndpoint: params.usedualstack,
    useAccelerateEndpoint: params.accelerate,
    tls: params.secure,
    // Only what the reference sends: no CRC32 trailers, which S3-compatible stores refuse.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent({ ...agentOptions, rejectUnauthorized: !params.skipverify }),
      connectionTimeout: 30_000,
    }),
  };
  if (endpoint !== undefined) config.endpoint = endpointUrl(endpoint, params.secure);
  else if (!params.secure) config.endpoint = `http://s3.${params.region}.amazonaws.com`;
  if (params.useragent !== undefined) config.customUserAgent = params.useragent;
  if (params.accesskey !== undefined && params.secretkey !== undefined) {
    config.credentials = { accessKeyId: params.accesskey, secretAccessKey: params.secretkey, sessionToken: params.sessiontoken };
  }
  const client = new S3Client(config);
  client.middlewareStack.add(contentMd5InsteadOfCrc, { step: 'build', priority: 'low', name: 'berthContentMd5' });
  return client;
}

/**
 * DeleteObjects must carry a checksum. The SDK sends a CRC32 that AWS accepts and S3-compatible
 * stores (Swift's s3api among them) refuse with InvalidRequest; Content-MD5, what the reference
 * sent, is accepted by all, so the CRC32 is swapped for it before the request is signed.
 */
const contentMd5InsteadOfCrc: BuildMiddleware<object, MetadataBearer> = (next) => async (args) => {
  const request = args.request as { headers?: Record<string, string>; body?: unknown };
  const headers = request.headers;
  if (headers !== undefined && headers['x-amz-checksum-crc32'] !== undefined && (typeof request.body === 'string' || request.body instanceof Uint8Array)) {
    for (const name of Object.keys(headers)) if (name.startsWith('x-amz-checksum-') || name === 'x-amz-sdk-checksum-algorithm') delete headers[name];
    headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
  }
  return next(args);
};
