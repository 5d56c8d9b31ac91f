import { Inject, Injectable } from '@nestjs/common';
import { type AccessController, type AccessTarget, accessControllerOf, requiredAccess, setAuthenticatedUser } from '@berth/auth';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { LOGIN_THROTTLE, type LoginThrottle } from '@berth/contracts';
import type { HttpRequest } from './http-answers';
import type { Route } from './routes';

/**
 * Authentication and authorization of every `/v2/` request, once, here (DESIGN.md rule 9):
 * the access the route needs (libs/auth's table) asked of the controller `auth` configures.
 * Runs after routing (an unroutable URL is 404 first) and before the repository name is
 * validated, as the reference's app.go. The user it admits is `authenticatedUser(req)`.
 */
@Injectable()
export class AccessGuard {
  private readonly controller: AccessController | undefined;

  constructor(@Inject(BERTH_CONFIG) config: BerthConfig, @Inject(LOGIN_THROTTLE) throttle: LoginThrottle) {
    this.controller = accessControllerOf(config, throttle);
  }

  /** Resolves when the request may go on; rejects with the 401, 403 or 429 to answer. */
  async authorize(req: HttpRequest, route: Route, method: string, query: URLSearchParams): Promise<void> {
    if (this.controller === undefined) return;
    const access = requiredAccess(targetOf(route, method, query));
    const forwardedProto = req.headers['x-forwarded-proto'];
    const grant = await this.controller.authorize(
      {
        authorization: req.headers.authorization,
        // The peer, not X-Forwarded-For: a header any caller can write must not pick whose failures are counted.
        clientAddress: req.socket.remoteAddress ?? '',
        host: req.headers.host,
        forwardedProto: Array.isArray(forwardedProto) ? forwardedProto[0] : forwardedProto,
      },
      access,
    );
    if (grant.user !== undefined) setAuthenticatedUser(req, grant.user);
  }
}

function targetOf(route: Route, method: string, query: URLSearchParams): AccessTarget {
  switch (route.kind) {
    case 'base':
      return { kind: 'base', method };
    case 'catalog':
      return { kind: 'catalog', method };
    case 'tags':
    case 'manifest':
    case 'uploadStart':
    case 'upload':
    case 'blob':
    case 'referrers':
      return { kind: 'repository', name: route.name, method, mountFrom: query.get('from') };
  }
}
