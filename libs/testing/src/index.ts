export { startBerth, distributedServices, repoRoot, type BerthInstance, type BerthProcess, type BerthStartOptions, type BerthTopology, type DistributedService } from './berth-process';
export { freePort } from './free-port';
export {
  ociBlobPath,
  ociMediaTypes,
  writeOciImageLayout,
  writeOciIndexLayout,
  type OciImage,
  type OciImageOptions,
  type OciIndexImage,
  type OciLayerSpec,
} from './oci-layout';
export {
  startReferenceRegistry,
  type ReferenceRegistry,
  type ReferenceRegistryOptions,
} from './reference-registry';
export { forward, startHttpRelay, type HttpRelay, type RelayedExchange, type RelayIntercept } from './http-relay';
export { filesystemRegistryConfig } from './registry-config';
export { type LineWatch, ServerProcess, waitForHttp, type ServerProcessOptions } from './server-process';
export { SkopeoError, skopeoCopy, skopeoInspect, skopeoRef, type SkopeoCopyOptions } from './skopeo';
export { skipDeliberately } from './deliberate-skip';
export { createTempDir, type TempDir } from './temp-dir';
export {
  startIdentityEndpoint,
  type IdentityEndpoint,
  type IdentityEndpointOptions,
  type IdentityRequest,
  type EndpointInterface,
  type StorageRequest,
} from './identity-endpoint';
export { dropContainer, listContainer, PrivateSwift, segmentOwners, type SwiftBackend, swiftBackend, swiftSession, type SwiftStorageSession } from './swift-backend';
export { PrivateRedis, type PrivateRedisOptions } from './private-redis';
export { emptyBucket, ensureBucket, listBucket, listMultipartUploads, type S3Backend, s3Backend, s3Client } from './s3-backend';
export { type MetricSamples, sampleDelta, sampleSum, scrapeMetrics } from './metrics-scrape';
export { fixturePath, readFixture, type Fixture } from './fixtures';
export {
  type ApplicationCredential,
  createApplicationCredential,
  deleteApplicationCredential,
  KeystoneAdmin,
  type KeystoneBackend,
  keystoneBackend,
  type KeystoneEntity,
  type KeystoneToken,
  keystoneToken,
  passwordAuth,
  type RecordedTokenRequest,
  startTokenRecorder,
  type TokenRecorder,
} from './keystone-backend';
export { makeTestCertificate, type TestCertificate, type TestKeyType } from './test-pki';
export { registryClaims, type RegistryTokenClaims, signRegistryToken } from './registry-token';
export { htpasswdLine } from './htpasswd';
export { makeTestCa, type TestCa } from './test-ca';
export { AZURITE_ACCOUNT, AZURITE_KEY, PrivateAzurite } from './azurite';
export { GcsJsonApiServer } from './api-servers/gcs-json-api-server';
export type { GcsRequest } from './api-servers/gcs-json-api';
export { OssApiServer } from './api-servers/oss-api-server';
