import { All, Controller, Inject, Logger, Req, Res } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { asOciError, OciError, parseRepositoryName } from '@berth/oci';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AccessGuard } from './access-guard';
import { BlobHandler } from './blob.handler';
import { type HttpRequest, type HttpResponse, requestTarget, sendGoNotFound, sendJson, sendOciError, setApiVersion } from './http-answers';
import { ListingHandler } from './listing.handler';
import { ManifestHandler } from './manifest.handler';
import { routeOfRequest } from './routes';
import { TokenServiceHandler } from './token-service.handler';
import { UploadHandler } from './upload.handler';

const writeMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every `/v2/...` request: matched, validated, handed to the resource's handler. */
@Controller()
export class RegistryController {
  private readonly readOnly: boolean;
  private readonly logger = new Logger('gateway');

  constructor(
    @Inject(BERTH_CONFIG) config: BerthConfig,
    private readonly blobs: BlobHandler,
    private readonly uploads: UploadHandler,
    private readonly manifests: ManifestHandler,
    private readonly listings: ListingHandler,
    private readonly guard: AccessGuard,
    private readonly tokens: TokenServiceHandler,
  ) {
    this.readOnly = config.storage.maintenance.readonly.enabled;
  }

  /** Fastify only routes here: the answer is written on Node's own request and response. */
  @All(['v2', 'v2/*'])
  async dispatch(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    reply.hijack();
    const { raw: req } = request;
    const { raw: res } = reply;
    try {
      await this.route(req, res);
    } catch (error) {
      sendOciError(req, res, asOciError(error, this.logger));
    }
  }

  /**
   * Outside `/v2/`, as the reference: `/` answers 200 to any method (its liveness route for
   * load balancers), anything else Go's plain-text 404.
   */
  @All(['', '*'])
  async outsideV2(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    setApiVersion(res);
    const { path, query } = requestTarget(request.raw);
    if (this.tokens.path !== undefined && path === this.tokens.path) {
      try {
        await this.tokens.handle(request.raw, res, query);
      } catch (error) {
        sendOciError(request.raw, res, asOciError(error, this.logger));
      }
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'Cache-Control': 'no-cache', 'Content-Length': 0 }).end();
      return;
    }
    sendGoNotFound(res);
  }

  private async route(req: HttpRequest, res: HttpResponse): Promise<void> {
    const { path, query } = requestTarget(req);
    const route = routeOfRequest(req, path);
    const method = req.method ?? 'GET';
    if (!route) throw new OciError('NOT_FOUND', `no such endpoint: ${method} ${path}`);
    await this.guard.authorize(req, route, method, query);
    if (this.readOnly && writeMethods.has(method)) {
      throw new OciError('UNSUPPORTED', 'the registry is in read-only mode (storage.maintenance.readonly)');
    }
    const name = 'name' in route ? parseRepositoryName(route.name) : '';
    switch (route.kind) {
      case 'base':
        if (method === 'GET' || method === 'HEAD') return sendJson(res, {});
        break;
      case 'catalog':
        if (method === 'GET') return this.listings.catalog(query, res);
        break;
      case 'tags':
        if (method === 'GET') return this.listings.tags(query, res, name);
        break;
      case 'referrers':
        if (method === 'GET') return this.listings.referrers(query, res, name, route.digest);
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
        if (method === 'POST') return this.uploads.start(req, res, name, query);
        break;
      case 'upload':
        if (method === 'GET') return this.uploads.status(req, res, name, route.id, query);
        if (method === 'PATCH') return this.uploads.append(req, res, name, route.id, query);
        if (method === 'PUT') return this.uploads.finish(req, res, name, route.id, query);
        if (method === 'DELETE') return this.uploads.cancel(res, name, route.id, query);
        break;
    }
    throw new OciError('UNSUPPORTED', `${method} is not allowed on ${path}`);
  }
}
