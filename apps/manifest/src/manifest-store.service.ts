import { Inject, Injectable } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import type { ManifestMessages, ManifestPattern } from '@berth/contracts';
import { ReferenceGuard } from '@berth/garbage-collection';
import { checkDigest, type Digest, digestOf, MANIFEST_SIZE_LIMIT, manifestTooLarge, OciError, parseReference, splitDigest } from '@berth/oci';
import { mapBounded, RegistryStorage } from '@berth/registry-storage';
import { type LayerUrlPolicy, layerUrlPolicy, type ManifestDocument, parseManifest } from './manifest-document';
import { ManifestReader } from './manifest-reader.service';

type Messages = ManifestMessages;
type Get = Messages[typeof ManifestPattern.Get];
type Put = Messages[typeof ManifestPattern.Put];
type Delete = Messages[typeof ManifestPattern.Delete];

/** The base64 text of a body at the limit; anything longer is refused before it is decoded. */
const ENCODED_SIZE_LIMIT = Math.ceil(MANIFEST_SIZE_LIMIT / 3) * 4;
const PARALLEL_CHECKS = 16;
/** Tags whose last digest is remembered as a hint: a few hundred bytes each, as the summaries. */
const TAG_HINT_ENTRIES = 10_000;

/**
 * Manifests in a repository, after Distribution's manifeststore.go and handlers/manifests.go:
 * bytes stored verbatim as a blob, visible in a repository through its revision link, named
 * by tags (RegistryStorage holds the layout). References are parsed again although the gateway checked
 * them: messages may come over Redis, and a reference becomes part of a storage path.
 */
@Injectable()
export class ManifestStore {
  private readonly deleteEnabled: boolean;
  private readonly layerUrls: LayerUrlPolicy;
  /** `repository:tag` → the digest it named at its last read here: a guess, never an answer (see `get`). */
  private readonly tagHints = new Map<string, Digest>();

  constructor(
    private readonly storage: RegistryStorage,
    @Inject(BERTH_CONFIG) config: BerthConfig,
    private readonly reader: ManifestReader,
    private readonly guard: ReferenceGuard,
  ) {
    this.deleteEnabled = config.storage.delete.enabled;
    this.layerUrls = layerUrlPolicy(config.validation.manifests.urls);
  }

  /**
   * Validates, checks that everything referenced is in the repository, then writes blob,
   * revision link, tag index link and last the tag's current link: a failure at any step
   * leaves nothing that points at a manifest whose parts are missing.
   */
  async put(request: Put['request']): Promise<Put['reply']> {
    const { repository } = request;
    const target = parseReference(request.reference);
    if (request.content.length > ENCODED_SIZE_LIMIT) throw manifestTooLarge();
    const content = Buffer.from(request.content, 'base64');
    if (content.length > MANIFEST_SIZE_LIMIT) throw manifestTooLarge();

    const document = parseManifest(content, request.contentType, this.layerUrls);
    // Pushed by digest, a manifest is stored under that digest's algorithm (sha512 too), so
    // that it answers by the digest the client pushed it by; pushed by tag, under sha256.
    const digest = target.kind === 'digest' ? digestOf(content, splitDigest(target.digest).algorithm) : digestOf(content);
    if (target.kind === 'digest' && digest !== target.digest) {
      throw new OciError('DIGEST_INVALID', `the manifest's digest is ${digest}, not ${target.digest}`);
    }
    // Online collection: what this manifest references (itself too: its bytes may be an old blob) is
    // recorded before it is checked, or the push is refused while a run deletes it.
    const referenced = [digest, ...document.blobs, ...document.children, ...(document.subject ? [document.subject] : [])];
    await this.guard.beforeReferencing(referenced);
    await this.checkReferences(repository, document);

    await this.storage.blobs.putIfAbsent(digest, content);
    await this.storage.revisions.link(repository, digest);
    if (target.kind === 'tag') await this.storage.tags.tag(repository, target.tag, digest);

    return document.subject ? { digest, subject: document.subject } : { digest };
  }

  /**
   * The tag's link (through the link cache, when one is configured), then the revision link
   * and the manifest's bytes side by side. The revision link is read from storage on every
   * request: it is what a delete, and an offline garbage collection, removes first, so no
   * cache can answer for a manifest that is gone. Whether the repository exists is asked only
   * when the answer is "unknown", to tell NAME_UNKNOWN from MANIFEST_UNKNOWN: a revision
   * link found proves it exists.
   *
   * By tag, the revision link of the digest the tag named last time is looked up while the
   * tag's link is read, rather than after: each storage call costs a round trip through
   * libuv's threads, and this takes one off the request's path. Its answer counts only when
   * the tag still names that digest and the link was there; otherwise the link is looked up
   * again after the tag, as without the guess. (Both lookups fall within the request: a delete
   * removes the revision link before the tags, so "the tag names it and its link exists" held
   * at the moment of the lookup, as it would have in the other order.)
   */
  async get(request: Get['request']): Promise<Get['reply']> {
    const { repository, withContent } = request;
    const target = parseReference(request.reference);
    let digest: Digest;
    let revision: Promise<boolean> | undefined;
    if (target.kind === 'tag') {
      const hintKey = `${repository}:${target.tag}`;
      const hint = this.tagHints.get(hintKey);
      const guessed = hint === undefined ? undefined : this.storage.revisions.linked(repository, hint);
      // Observed here: a guess that turns out unused must not end as an unhandled rejection.
      guessed?.catch(() => undefined);
      const tagged = await this.storage.tags.current(repository, target.tag);
      if (tagged === undefined) {
        this.tagHints.delete(hintKey);
        return this.unknown(repository, { tag: target.tag });
      }
      // A tag's link is read from storage: checked before it becomes part of a path.
      const checked = checkDigest(tagged);
      if (!checked.ok) return this.unknown(repository, { digest: tagged });
      digest = checked.digest;
      if (guessed !== undefined && digest === hint) {
        revision = guessed.then((linked) => linked || this.storage.revisions.linked(repository, digest));
      } else {
        this.hintTag(hintKey, digest);
      }
    } else {
      digest = target.digest;
    }
    revision ??= this.storage.revisions.linked(repository, digest);
    if (!withContent) {
      const [linked, stored] = await Promise.all([revision, this.reader.isStored(digest)]);
      if (!linked || !stored) return this.unknown(repository, { digest });
      const { mediaType, size } = await this.reader.summary(digest);
      return { digest, mediaType, size };
    }
    // Both settle before either answers, so no read is left running unobserved.
    const [linked, read] = await Promise.allSettled([revision, this.reader.content(digest)]);
    if (linked.status === 'rejected') throw linked.reason;
    if (!linked.value) return this.unknown(repository, { digest });
    if (read.status === 'rejected') {
      if (read.reason instanceof OciError && read.reason.code === 'MANIFEST_UNKNOWN') return this.unknown(repository, { digest });
      throw read.reason;
    }
    const { content, summary } = read.value;
    return { digest, mediaType: summary.mediaType, size: content.length, content: content.toString('base64') };
  }

  private hintTag(key: string, digest: Digest): void {
    this.tagHints.delete(key);
    this.tagHints.set(key, digest);
    if (this.tagHints.size > TAG_HINT_ENTRIES) {
      // Maps iterate in insertion order: the first key is the least recently hinted.
      const oldest = this.tagHints.keys().next().value;
      if (oldest !== undefined) this.tagHints.delete(oldest);
    }
  }

  /** MANIFEST_UNKNOWN with `detail`, or NAME_UNKNOWN when the repository itself does not exist. */
  private async unknown(repository: string, detail: { tag: string } | { digest: string }): Promise<never> {
    await this.assertRepositoryExists(repository);
    throw new OciError('MANIFEST_UNKNOWN', detail);
  }

  /**
   * A tag untags only. A digest removes the revision link (the blob stays for the garbage
   * collector) and then every tag that named it, as the reference's DeleteManifest does.
   */
  async delete(request: Delete['request']): Promise<Delete['reply']> {
    if (!this.deleteEnabled) throw new OciError('UNSUPPORTED', 'deletion is disabled (storage.delete.enabled)');
    const { repository } = request;
    const target = parseReference(request.reference);
    await this.assertRepositoryExists(repository);
    if (target.kind === 'tag') {
      if (!(await this.storage.tags.untag(repository, target.tag))) throw new OciError('MANIFEST_UNKNOWN', { tag: target.tag });
      return {};
    }
    const digest = target.digest;
    if (!(await this.storage.revisions.exists(repository, digest))) throw new OciError('MANIFEST_UNKNOWN', { digest });
    await this.storage.revisions.unlink(repository, digest);
    for (const tag of await this.storage.tags.pointingAt(repository, digest)) await this.storage.tags.untag(repository, tag);
    return {};
  }

  /** Blobs must be linked in this repository and children must be its revisions (no cross-repo leaks). */
  private async checkReferences(repository: string, document: ManifestDocument): Promise<void> {
    const blobsPresent = await mapBounded(document.blobs, PARALLEL_CHECKS, async (digest) =>
      (await this.storage.linkedBlobs.stat(repository, digest)) !== undefined,
    );
    throwIfMissing(document.blobs, blobsPresent);
    const childrenPresent = await mapBounded(document.children, PARALLEL_CHECKS, (digest) =>
      this.storage.revisions.exists(repository, digest),
    );
    throwIfMissing(document.children, childrenPresent);
  }

  /** A repository exists once something was pushed to it: layers or manifests. */
  private async assertRepositoryExists(repository: string): Promise<void> {
    if (!(await this.storage.repositoryExists(repository))) throw new OciError('NAME_UNKNOWN', { name: repository });
  }
}

function throwIfMissing(digests: Digest[], present: boolean[]): void {
  const missing = digests.find((_, index) => !present[index]);
  if (missing !== undefined) throw new OciError('MANIFEST_BLOB_UNKNOWN', { digest: missing });
}
