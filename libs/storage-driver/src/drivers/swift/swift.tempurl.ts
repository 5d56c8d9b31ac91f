import { createHmac } from 'node:crypto';
import type { SwiftSession } from './swift.auth';
import { encodePath } from './swift.client';

/** How long a redirect stays valid, as in the reference driver. */
const LIFETIME_MS = 20 * 60_000;

/**
 * Signs Swift TempURLs (`temp_url_sig`, `temp_url_expires`) for blob pulls that the
 * gateway answers with a redirect, so the bytes go from Swift to the client directly.
 */
export class TempUrlSigner {
  constructor(
    private readonly key: string,
    private readonly methods: readonly string[],
    private readonly digest: 'sha1' | 'sha256',
    /** HP Cloud wants `<tenant id>:<access key>:<signature>`. */
    private readonly accessKey: string | undefined,
  ) {}

  /** A URL for `method` on `object`, or undefined when the cluster does not allow that method. */
  sign(session: SwiftSession, container: string, object: string, method: 'GET' | 'HEAD', now = Date.now()): string | undefined {
    // Swift accepts HEAD on a URL signed for GET (tempurl middleware).
    const signed = method === 'HEAD' ? 'GET' : method;
    if (!this.methods.includes(signed)) return undefined;
    const url = new URL(session.storageUrl.replace(/\/+$/, ''));
    const path = `${url.pathname}/${container}/${object}`;
    const expires = Math.floor((now + LIFETIME_MS) / 1000);
    let signature = createHmac(this.digest, this.key).update(`${signed}\n${expires}\n${path}`).digest('hex');
    if (this.accessKey !== undefined) signature = `${session.tenantId ?? ''}:${this.accessKey}:${signature}`;
    url.pathname = `${url.pathname}/${encodePath(container)}/${encodePath(object)}`;
    url.search = new URLSearchParams({ temp_url_sig: signature, temp_url_expires: String(expires) }).toString();
    return url.toString();
  }
}
