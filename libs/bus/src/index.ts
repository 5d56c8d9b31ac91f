export { InProcessBus, InProcessClient, InProcessServer } from './in-process.transport';
export { NestMessageClient } from './nest-message-client';
export { RpcErrorFilter } from './rpc-error.filter';
export { asOciError } from './as-oci-error';
export { InProcessHealthBoard } from './in-process-health-board';
export { BusKeys } from './bus-keys';
export { withTimeout } from './with-timeout';
export { disconnectNow, openRedis, redisSettingsFrom, type RedisRole, type RedisSettings } from './redis-settings';
export { RedisQueueServer, RedisQueueContext, type RedisQueueServerOptions } from './redis-queue.server';
export { RedisQueueClient, type RedisQueueClientOptions } from './redis-queue.client';
export { ServiceDirectory, type ServiceInstance } from './service-directory';
export { StreamMessageServer, type StreamMessageServerOptions } from './stream-message.server';
export { InstanceUnreachableError, postStreamMessage, type StreamMessage } from './stream-message.http';
export {
  DistributedUploadClient,
  STREAMED_UPLOAD_PATTERNS,
  UPLOAD_SERVICE,
  type DistributedUploadClientOptions,
} from './distributed-upload.client';
export { RedisHealthBoard, type RedisHealthBoardOptions } from './redis-health-board';
export { firstRunDelayMs, JOB_SCHEDULER, type JobScheduler, type RepeatableJob, type ScheduledJob } from './repeatable-job';
export { InProcessJobScheduler } from './repeatable-job.in-process';
export { RedisJobScheduler } from './repeatable-job.redis';
export { InProcessLinkCache } from './in-process-link-cache';
export { RedisLinkCache, type RedisLinkCacheOptions } from './redis-link-cache';
export { linkCacheOf } from './link-cache-of';
