import { Controller, UseFilters } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { type ManifestMessages, ManifestPattern } from '@berth/contracts';
import { RpcErrorFilter } from '@berth/telemetry';
import { CatalogService } from './catalog.service';
import { ManifestStore } from './manifest-store.service';
import { ReferrersService } from './referrers.service';
import { TagListService } from './tag-list.service';

type Request<P extends keyof ManifestMessages> = ManifestMessages[P]['request'];
type Reply<P extends keyof ManifestMessages> = Promise<ManifestMessages[P]['reply']>;

/** The manifest service's messages, one line each: the services hold the logic. */
@Controller()
@UseFilters(RpcErrorFilter)
export class ManifestMessagesController {
  constructor(
    private readonly manifests: ManifestStore,
    private readonly tags: TagListService,
    private readonly catalog: CatalogService,
    private readonly referrers: ReferrersService,
  ) {}

  @MessagePattern(ManifestPattern.Get)
  get(@Payload() request: Request<typeof ManifestPattern.Get>): Reply<typeof ManifestPattern.Get> {
    return this.manifests.get(request);
  }

  @MessagePattern(ManifestPattern.Put)
  put(@Payload() request: Request<typeof ManifestPattern.Put>): Reply<typeof ManifestPattern.Put> {
    return this.manifests.put(request);
  }

  @MessagePattern(ManifestPattern.Delete)
  delete(@Payload() request: Request<typeof ManifestPattern.Delete>): Reply<typeof ManifestPattern.Delete> {
    return this.manifests.delete(request);
  }

  @MessagePattern(ManifestPattern.ListTags)
  listTags(@Payload() request: Request<typeof ManifestPattern.ListTags>): Reply<typeof ManifestPattern.ListTags> {
    return this.tags.list(request.repository, request);
  }

  @MessagePattern(ManifestPattern.Catalog)
  catalogPage(@Payload() request: Request<typeof ManifestPattern.Catalog>): Reply<typeof ManifestPattern.Catalog> {
    return this.catalog.list(request);
  }

  @MessagePattern(ManifestPattern.Referrers)
  referrersOf(@Payload() request: Request<typeof ManifestPattern.Referrers>): Reply<typeof ManifestPattern.Referrers> {
    return this.referrers.list(request);
  }
}
