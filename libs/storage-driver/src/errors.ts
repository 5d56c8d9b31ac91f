/**
 * The driver errors callers may rely on, after Distribution's storagedriver.go.
 * Every error names the driver; callers tell them apart with `instanceof`.
 */
export abstract class StorageDriverFailure extends Error {
  constructor(
    message: string,
    public driverName: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Nothing exists at the path. "Not found" is never `null` or `undefined`. */
export class PathNotFoundError extends StorageDriverFailure {
  constructor(public readonly path: string, driverName = '') {
    super(`path not found: ${path}`, driverName);
  }
}

/** The path breaks the driver path grammar; raised before any I/O. */
export class InvalidPathError extends StorageDriverFailure {
  constructor(public readonly path: string, public readonly reason: string, driverName = '') {
    super(`invalid path ${JSON.stringify(path)}: ${reason}`, driverName);
  }
}

/** A read asked for an offset beyond the end of the content. */
export class InvalidOffsetError extends StorageDriverFailure {
  constructor(public readonly path: string, public readonly offset: number, driverName = '') {
    super(`invalid offset ${offset} for ${path}`, driverName);
  }
}

/** The driver does not offer this operation. */
export class UnsupportedMethodError extends StorageDriverFailure {
  constructor(public readonly method: string, driverName = '') {
    super(`${driverName || 'driver'} does not support ${method}`, driverName);
  }
}

/** Any other failure of the backend, wrapped so that it names the driver. */
export class StorageDriverError extends StorageDriverFailure {
  constructor(message: string, driverName: string, cause?: unknown) {
    super(`${driverName}: ${message}`, driverName, { cause });
  }
}
