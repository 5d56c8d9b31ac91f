/**
 * The dependency-injection token under which the composition root provides the one
 * `StorageDriver`. `Symbol.for` so that the token is the same when this lib is loaded both
 * from sources and from `dist/` (tests next to a built app).
 */
export const STORAGE_DRIVER = Symbol.for('berth.storage-driver');
