import type { AccessRecord } from '../access';
import { type AccessController, type AuthRequest, challengeError, type Grant, quoted } from '../access-controller';

/**
 * `auth.silly` (registry/auth/silly/access.go): for tests only. Any non-empty `Authorization`
 * header is user `silly`; without one, a Bearer challenge whose scope lists each access record
 * on its own (not merged per resource, unlike token auth).
 */
export class SillyAccessController implements AccessController {
  constructor(private readonly options: { realm: string; service: string }) {}

  async authorize(request: AuthRequest, access: readonly AccessRecord[]): Promise<Grant> {
    if (request.authorization) return { user: 'silly' };
    let challenge = `Bearer realm=${quoted(this.options.realm)},service=${quoted(this.options.service)}`;
    if (access.length > 0) challenge += `,scope=${quoted(access.map((record) => `${record.type}:${record.name}:${record.action}`).join(' '))}`;
    throw challengeError(challenge, access);
  }
}
