// Transports: how services call each other (in process, Redis queues, HTTP streams for blob bytes).
export { InProcessBus, InProcessClient, InProcessServer } from './transport/in-process-transport';
export { NestMessageClient } from './transport/nest-message-client';
export { RedisQueueClient, type RedisQueueClientOptions } from './transport/redis-queue-client';
export { RedisQueueContext, RedisQueueServer, type RedisQueueServerOptions } from './transport/redis-queue-server';
export { InternalRequestSigner, type InternalRequestSignerOptions, SIGNATURE_HEADER, type SignedParts } from './transport/internal-request-signer';
export { InstanceUnreachableError, postStreamMessage, type StreamMessage } from './transport/stream-message-client';
export { StreamMessageServer, type StreamMessageServerOptions } from './transport/stream-message-server';
export { ServiceDirectory, type ServiceInstance } from './transport/service-directory';
export { queueDepths } from './transport/queue-depth';
// Redis: connections and the names of every key.
export { BusKeys } from './redis/bus-keys';
export { disconnectNow, openRedis, redisSettingsFrom, type RedisRole, type RedisSettings } from './redis/redis-connection';
export { untilRedisAnswers } from './redis/redis-wait';
// The implementations of the contracts' JobScheduler, LinkCache and HealthBoard.
export { InProcessJobScheduler } from './job-scheduler/in-process-job-scheduler';
export { RedisJobScheduler } from './job-scheduler/redis-job-scheduler';
export { InProcessLinkCache } from './link-cache/in-process-link-cache';
export { RedisLinkCache, type RedisLinkCacheOptions } from './link-cache/redis-link-cache';
export { linkCacheOf } from './link-cache/link-cache-of';
export { InProcessHealthBoard } from './health-board/in-process-health-board';
export { RedisHealthBoard, type RedisHealthBoardOptions } from './health-board/redis-health-board';
// Failed logins, counted per process or across a cluster.
export { InProcessLoginThrottle } from './login-throttle/in-process-login-throttle';
export { RedisLoginThrottle } from './login-throttle/redis-login-throttle';
export { loginThrottleOf } from './login-throttle/login-throttle-of';
// The gateway's upload client when services run apart.
export { DistributedUploadClient, type DistributedUploadClientOptions } from './upload-client/distributed-upload-client';
// Online garbage collection's fence, between the collector and the writes.
export { InProcessCollectionFence } from './collection-fence/in-process-collection-fence';
export { RedisCollectionFence } from './collection-fence/redis-collection-fence';
