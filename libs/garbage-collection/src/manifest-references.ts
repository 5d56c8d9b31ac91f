import { checkDigest, type Digest } from '@berth/oci';

/** What a stored manifest points at, as garbage collection needs it. */
export interface ManifestReferences {
  /**
   * Every descriptor the manifest names (Distribution's `References()`): config and layers,
   * layers with `urls` included (the reference marks them too), or an index's manifests;
   * schema 1's `fsLayers`. Strings that are no digest are left out: nothing is stored under them.
   */
  references: Digest[];
  /** An index's (or manifest list's) manifests: revisions of the same repository, expanded in turn. */
  children: Digest[];
  /** The size each referenced descriptor declares (storage use), by digest. */
  sizes: Map<Digest, number>;
  /** OCI 1.1 `subject`: the manifest this one refers to (a signature, an SBOM). Not a reference. */
  subject?: Digest;
}

/**
 * Reads what a stored manifest references. Lenient where a push is strict: the bytes are
 * already in storage, possibly written by the reference (schema 1, foreign layers, fields
 * berth refuses), and whatever they name must be kept. Throws only when the bytes are no
 * JSON object at all: a revision whose references cannot be read cannot be proved to
 * reference nothing, so the collection stops (fail closed).
 */
export function manifestReferences(content: Buffer): ManifestReferences {
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not a JSON object');
  const manifest = json as Record<string, unknown>;
  const sizes = new Map<Digest, number>();
  const children = digestsOf(manifest.manifests, sizes);
  const references = [
    ...digestsOf([manifest.config], sizes),
    ...digestsOf(manifest.layers, sizes),
    ...children,
    ...blobSumsOf(manifest.fsLayers),
  ];
  const subject = digestsOf([manifest.subject], new Map())[0];
  return subject === undefined ? { references, children, sizes } : { references, children, sizes, subject };
}

function digestsOf(descriptors: unknown, sizes: Map<Digest, number>): Digest[] {
  if (!Array.isArray(descriptors)) return [];
  const digests: Digest[] = [];
  for (const descriptor of descriptors) {
    const { digest, size } = (descriptor ?? {}) as { digest?: unknown; size?: unknown };
    if (typeof digest !== 'string') continue;
    const checked = checkDigest(digest);
    if (!checked.ok) continue;
    digests.push(checked.digest);
    if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) sizes.set(checked.digest, size);
  }
  return digests;
}

/** Schema 1 (`fsLayers: [{ blobSum }]`), which the reference stored when it was pushed. */
function blobSumsOf(layers: unknown): Digest[] {
  if (!Array.isArray(layers)) return [];
  return digestsOf(
    layers.map((layer) => ({ digest: (layer as { blobSum?: unknown } | null)?.blobSum })),
    new Map(),
  );
}
