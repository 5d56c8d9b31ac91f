import { Agent } from 'node:http';
import { Logger } from '@nestjs/common';
import { type MessageClient, STREAMED_UPLOAD_PATTERNS, UPLOAD_SERVICE, type UploadMessages, UploadPattern } from '@berth/contracts';
import { OciError } from '@berth/oci';
import type { Redis } from 'ioredis';
import { BusKeys } from '../redis/bus-keys';
import type { InternalRequestSigner } from '../transport/internal-request-signer';
import type { ServiceDirectory, ServiceInstance } from '../transport/service-directory';
import { InstanceUnreachableError, postStreamMessage } from '../transport/stream-message-client';

export interface DistributedUploadClientOptions {
  /** How long a call may wait for an upload instance to appear (`berth.bus.requesttimeout`). */
  timeoutMs: number;
  /** Signs each streamed request: upload instances serve nothing else. */
  signer: InternalRequestSigner;
  /** How long the list of instances is reused before it is read again. */
  directoryCacheMs?: number;
  /** How long an upload session keeps its preferred instance without a chunk. */
  affinityTtlMs?: number;
}

/**
 * The gateway's `MessageClient<UploadMessages>` when services run apart. Control messages
 * go over the Redis queues (`control`); the messages with a body stream to an upload
 * instance over its internal HTTP listener.
 *
 * A session's chunks go to the instance that took its previous one, remembered in Redis
 * (so any gateway finds it): that instance holds the session's running SHA-256, and any
 * other would first rebuild it by reading the data back. Preference only: when that
 * instance is gone, any other is correct (the upload service rebuilds a missing hash from
 * storage), and a refused connection moves on to the next instance before a byte is sent.
 */
export class DistributedUploadClient implements MessageClient<UploadMessages> {
  private readonly keys: BusKeys;
  private readonly agent = new Agent({ keepAlive: true });
  private readonly log = new Logger('upload-client');
  private cached: { instances: ServiceInstance[]; at: number } | undefined;

  constructor(
    private readonly control: MessageClient<UploadMessages>,
    private readonly directory: ServiceDirectory,
    private readonly redis: Redis,
    keyPrefix: string,
    private readonly options: DistributedUploadClientOptions,
  ) {
    this.keys = new BusKeys(keyPrefix);
  }

  send<P extends keyof UploadMessages>(pattern: P, request: UploadMessages[P]['request']): Promise<UploadMessages[P]['reply']> {
    if (!STREAMED_UPLOAD_PATTERNS.includes(pattern)) return this.control.send(pattern, request);
    return this.stream(pattern, request as UploadMessages[typeof UploadPattern.Finish]['request']) as Promise<UploadMessages[P]['reply']>;
  }

  close(): void {
    this.agent.destroy();
  }

  private async stream(pattern: string, request: UploadMessages[typeof UploadPattern.Finish]['request']): Promise<unknown> {
    const { body, ...rest } = request;
    const deadline = Date.now() + this.options.timeoutMs;
    const preferred = await this.affinity(rest.id);
    const unreachable = new Set<string>();
    for (;;) {
      const instance = await this.pick(preferred, unreachable, deadline);
      try {
        const reply = await postStreamMessage(instance.address, { pattern, request: rest, ...(body ? { body } : {}) }, this.agent, this.options.signer);
        await this.remember(pattern, rest.id, preferred, instance.id);
        return reply;
      } catch (error) {
        if (!(error instanceof InstanceUnreachableError)) throw error;
        this.log.warn(`upload instance ${instance.id} unreachable, trying another: ${error.message}`);
        unreachable.add(instance.id);
        this.cached = undefined;
      }
    }
  }

  /** The preferred instance when it is live and reachable, else a random live one; waits for one until `deadline`. */
  private async pick(preferred: string | undefined, unreachable: Set<string>, deadline: number): Promise<ServiceInstance> {
    for (;;) {
      const candidates = (await this.instances()).filter((instance) => !unreachable.has(instance.id));
      const chosen = candidates.find((instance) => instance.id === preferred) ?? candidates[Math.floor(Math.random() * candidates.length)];
      if (chosen) return chosen;
      if (Date.now() > deadline) throw new OciError('UNAVAILABLE', 'no upload instance is running');
      this.cached = undefined;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private async instances(): Promise<ServiceInstance[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.options.directoryCacheMs ?? 1_000)) return this.cached.instances;
    let instances: ServiceInstance[];
    try {
      instances = await this.directory.list(UPLOAD_SERVICE);
    } catch (error) {
      throw new OciError('UNAVAILABLE', `cannot read the upload instances from Redis: ${(error as Error).message}`);
    }
    this.cached = { instances, at: now };
    return instances;
  }

  /** A lost preference costs a hash rebuild, never a failure: Redis errors are not the client's. */
  private async affinity(uploadId: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.keys.uploadAffinity(uploadId))) ?? undefined;
    } catch {
      return undefined;
    }
  }

  private async remember(pattern: string, uploadId: string, previous: string | undefined, instanceId: string): Promise<void> {
    const key = this.keys.uploadAffinity(uploadId);
    try {
      // A session that never had a preference (a monolithic push) has no key to remove.
      if (pattern === UploadPattern.Finish) {
        if (previous !== undefined) await this.redis.del(key);
      } else if (previous !== instanceId) await this.redis.set(key, instanceId, 'PX', this.options.affinityTtlMs ?? 3_600_000);
    } catch {
      // As above: the next chunk may land elsewhere and still be right.
    }
  }
}
