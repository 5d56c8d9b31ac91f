import { All, Controller, Inject, Req, Res, UseFilters } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { OciError, parseRepositoryName } from '@berth/oci';
import type { Request, Response } from 'express';
import { BlobHandler } from './blob.handler';
import { ListingHandler } from './listing.handler';
import { ManifestHandler } from './manifest.handler';
import { OciErrorFilter } from './oci-error.filter';
import { matchRoute } from './routes';
import { UploadHandler } from './upload.handler';

const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every `/v2/<name>/...` request: matched, validated, handed to the resource's handler. */
@Controller()
@UseFilters(OciErrorFilter)
export class RegistryController {
  private readonly readOnly: boolean;

  constructor(
    @Inject(BERTH_CONFIG) config: BerthConfig,
    private readonly blobs: BlobHandler,
    private readonly uploads: UploadHandler,
    private readonly manifests: ManifestHandler,
    private readonly listings: ListingHandler,
  ) {
    this.readOnly = config.storage.maintenance.readonly.enabled;
  }

  @All('v2/*path')
  async dispatch(@Req() req: Request, @Res() res: Response): Promise<void> {
    const route = matchRoute(req.path);
    if (!route) throw new OciError('NOT_FOUND', `no such endpoint: ${req.method} ${req.path}`);
    if (this.readOnly && writeMethods.has(req.method)) {
      throw new OciError('UNSUPPORTED', 'the registry is in read-only mode (storage.maintenance.readonly)');
    }
    const name = route.kind === 'catalog' ? '' : parseRepositoryName(route.name);
    const method = req.method;
    switch (route.kind) {
      case 'catalog':
        if (method === 'GET') return this.listings.catalog(req, res);
        break;
      case 'tags':
        if (method === 'GET') return this.listings.tags(req, res, name);
        break;
      case 'referrers':
        if (method === 'GET') return this.listings.referrers(req, res, name, route.digest);
        break;
      case 'manifest':
        if (method === 'GET' || method === 'HEAD') return this.manifests.get(req, res, name, route.reference);
        if (method === 'PUT') return this.manifests.put(req, res, name, route.reference);
        if (method === 'DELETE') return this.manifests.delete(res, name, route.reference);
        break;
      case 'blob':
        if (method === 'GET' || method === 'HEAD') return this.blobs.get(req, res, name, route.digest);
        if (method === 'DELETE') return this.blobs.delete(res, name, route.digest);
        break;
      case 'uploadStart':
        if (method === 'POST') return this.uploads.start(req, res, name);
        break;
      case 'upload':
        if (method === 'GET') return this.uploads.status(req, res, name, route.id);
        if (method === 'PATCH') return this.uploads.append(req, res, name, route.id);
        if (method === 'PUT') return this.uploads.finish(req, res, name, route.id);
        if (method === 'DELETE') return this.uploads.cancel(req, res, name, route.id);
        break;
    }
    throw new OciError('UNSUPPORTED', `${method} is not allowed on ${req.path}`);
  }
}
