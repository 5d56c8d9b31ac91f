import { Inject, Injectable } from '@nestjs/common';
import { TokenRequestError, type TokenService, tokenServiceOf } from '@berth/auth';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import { LOGIN_THROTTLE, type LoginThrottle } from '@berth/contracts';
import { OciError } from '@berth/oci';
import { type HttpRequest, type HttpResponse, sendJson, sendOciError } from './http-answers';

/** A token request's form is a few hundred bytes; more is not one. */
const MAX_FORM_BYTES = 64 * 1024;

/**
 * berth's token service (`berth.tokenservice`) on the gateway's own listener, at its `path`
 * (default `/auth/token`, where `auth.token.autoredirect` points): no second listener, and the
 * same TLS. `GET` with Basic credentials as docker, podman and skopeo ask (docs/spec/auth/token.md),
 * `POST` with the OAuth2 password and refresh-token grants as containerd and docker with an
 * identity token ask (oauth.md).
 */
@Injectable()
export class TokenServiceHandler {
  private readonly service: TokenService | undefined;
  readonly path: string | undefined;

  constructor(@Inject(BERTH_CONFIG) config: BerthConfig, @Inject(LOGIN_THROTTLE) throttle: LoginThrottle) {
    this.service = tokenServiceOf(config, throttle);
    this.path = this.service ? config.berth.tokenservice.path : undefined;
  }

  async handle(req: HttpRequest, res: HttpResponse, query: URLSearchParams): Promise<void> {
    const service = this.service!;
    const clientAddress = req.socket.remoteAddress ?? '';
    try {
      if (req.method === 'GET') {
        req.resume();
        const user = await service.authenticate(req.headers.authorization, clientAddress);
        const answer = await service.issue(user, query.get('service') ?? undefined, query.getAll('scope'), query.get('offline_token') === 'true');
        return sendJson(res, answer);
      }
      if (req.method === 'POST') {
        const form = await readForm(req);
        if (!form.get('client_id')) throw new TokenRequestError('invalid_request', 'client_id is required');
        const grantType = form.get('grant_type');
        let user: string | undefined;
        if (grantType === 'password') {
          const username = form.get('username');
          const password = form.get('password');
          if (!username || password === null) throw new TokenRequestError('invalid_request', 'the password grant needs username and password');
          user = await service.authenticatePassword(username, password, clientAddress);
        } else if (grantType === 'refresh_token') {
          const refreshToken = form.get('refresh_token');
          if (!refreshToken) throw new TokenRequestError('invalid_request', 'the refresh_token grant needs refresh_token');
          user = await service.refreshUser(refreshToken);
        } else {
          throw new TokenRequestError('unsupported_grant_type', `grant_type ${JSON.stringify(grantType ?? '')} is not supported (password, refresh_token)`);
        }
        const scopes = (form.get('scope') ?? '').split(' ').filter((scope) => scope !== '');
        const answer = await service.issue(user, form.get('service') ?? undefined, scopes, grantType === 'password' && form.get('access_type') === 'offline');
        return sendJson(res, answer);
      }
      req.resume();
      // 405: containerd falls back to GET on it.
      res.writeHead(405, { Allow: 'GET, POST', 'Content-Length': 0 }).end();
    } catch (error) {
      if (error instanceof TokenRequestError) {
        res.statusCode = error.error === 'invalid_grant' ? 401 : 400;
        return sendJson(res, { error: error.error, error_description: error.description });
      }
      if (error instanceof OciError) return sendOciError(req, res, error);
      throw error;
    }
  }
}

async function readForm(req: HttpRequest): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new TokenRequestError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new TokenRequestError('invalid_request', 'the form is too large');
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
