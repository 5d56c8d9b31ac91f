import { describe, expect, it } from 'vitest';
import { descriptorOf, type ErrorCode, errorDescriptors, isErrorCode } from './codes';
import { OciError, renderErrors } from './oci-error';

describe('the descriptor table', () => {
  it.each<[ErrorCode, number, string]>([
    ['BLOB_UNKNOWN', 404, 'blob unknown to registry'],
    ['BLOB_UPLOAD_INVALID', 404, 'blob upload invalid'],
    ['BLOB_UPLOAD_UNKNOWN', 404, 'blob upload unknown to registry'],
    ['DIGEST_INVALID', 400, 'provided digest did not match uploaded content'],
    ['MANIFEST_BLOB_UNKNOWN', 400, 'blob unknown to registry'],
    ['MANIFEST_INVALID', 400, 'manifest invalid'],
    ['MANIFEST_UNKNOWN', 404, 'manifest unknown'],
    ['MANIFEST_UNVERIFIED', 400, 'manifest failed signature verification'],
    ['NAME_INVALID', 400, 'invalid repository name'],
    ['NAME_UNKNOWN', 404, 'repository name not known to registry'],
    ['TAG_INVALID', 400, 'manifest tag did not match URI'],
    ['SIZE_INVALID', 400, 'provided length did not match content length'],
    ['RANGE_INVALID', 416, 'invalid content range'],
    ['PAGINATION_NUMBER_INVALID', 400, 'invalid number of results requested'],
    ['UNAUTHORIZED', 401, 'authentication required'],
    ['DENIED', 403, 'requested access to the resource is denied'],
    ['UNSUPPORTED', 405, 'The operation is unsupported.'],
    ['TOOMANYREQUESTS', 429, 'too many requests'],
    ['UNKNOWN', 500, 'unknown error'],
    ['UNAVAILABLE', 503, 'service unavailable'],
    ['NOT_FOUND', 404, 'not found'],
  ])('%s answers %i "%s", as the reference does', (code, status, message) => {
    expect(descriptorOf(code)).toMatchObject({ code, status, message });
  });

  it('keys every descriptor by its own code, in the wire format\'s shape', () => {
    for (const [key, descriptor] of Object.entries(errorDescriptors)) {
      expect(descriptor.code).toBe(key);
      expect(key).toMatch(/^[A-Z_]+$/);
      expect(descriptor.description.length).toBeGreaterThan(0);
    }
  });

  it('knows its codes and nothing else', () => {
    expect(isErrorCode('BLOB_UNKNOWN')).toBe(true);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode('blob_unknown')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});

describe('OciError', () => {
  it('renders the health gate\'s 503 exactly as the reference does', () => {
    const error = new OciError('UNAVAILABLE', 'health check failed: please see /debug/health');
    expect(error.status).toBe(503);
    expect(JSON.stringify(renderErrors([error]))).toBe(
      '{"errors":[{"code":"UNAVAILABLE","message":"service unavailable","detail":"health check failed: please see /debug/health"}]}',
    );
  });

  it('omits an absent detail, keeps a structured one', () => {
    expect(JSON.stringify(new OciError('MANIFEST_UNKNOWN'))).toBe('{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}');
    expect(new OciError('BLOB_UNKNOWN', { digest: 'sha256:x' }).toJSON()).toEqual({
      code: 'BLOB_UNKNOWN',
      message: 'blob unknown to registry',
      detail: { digest: 'sha256:x' },
    });
  });

  it('renders several errors in order', () => {
    const body = renderErrors([new OciError('MANIFEST_BLOB_UNKNOWN', 'sha256:a'), new OciError('MANIFEST_BLOB_UNKNOWN', 'sha256:b')]);
    expect(body.errors.map((entry) => entry.detail)).toEqual(['sha256:a', 'sha256:b']);
  });

  it('takes a status override, with or without headers', () => {
    expect(new OciError('SIZE_INVALID', 'manifest too large', 413).status).toBe(413);
    const ranged = new OciError('RANGE_INVALID', 'cannot serve bytes=9-', { 'Content-Range': 'bytes */5' });
    expect(ranged.status).toBe(416);
    expect(ranged.headers).toEqual({ 'Content-Range': 'bytes */5' });
    const both = new OciError('SIZE_INVALID', undefined, { 'X-A': 'b' }, 413);
    expect([both.status, both.headers]).toEqual([413, { 'X-A': 'b' }]);
  });

  it('refuses a status that is not an HTTP error', () => {
    expect(() => new OciError('UNKNOWN', undefined, 200)).toThrow(RangeError);
    expect(() => new OciError('UNKNOWN', undefined, 600)).toThrow(RangeError);
  });

  it('is an Error whose message serves a log line', () => {
    const error = new OciError('NAME_UNKNOWN', { name: 'foo/bar' });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('OciError');
    expect(error.message).toBe('NAME_UNKNOWN: repository name not known to registry: {"name":"foo/bar"}');
    expect(error.stack).toBeDefined();
  });
});

describe('the wire form', () => {
  it('survives a JSON round trip (as over Redis) with code, detail, status and headers', () => {
    const original = new OciError('RANGE_INVALID', { offset: 10 }, { 'Content-Range': 'bytes */5', Range: '0-4' }, 416);
    const rebuilt = OciError.fromWire(JSON.parse(JSON.stringify(original.toWire())));
    expect(rebuilt).toBeInstanceOf(OciError);
    expect(rebuilt.code).toBe('RANGE_INVALID');
    expect(rebuilt.detail).toEqual({ offset: 10 });
    expect(rebuilt.status).toBe(416);
    expect(rebuilt.headers).toEqual({ 'Content-Range': 'bytes */5', Range: '0-4' });
    expect(rebuilt.toJSON()).toEqual(original.toJSON());
  });

  it('keeps a status override across the wire', () => {
    const rebuilt = OciError.fromWire(JSON.parse(JSON.stringify(new OciError('SIZE_INVALID', 'too big', 413).toWire())));
    expect(rebuilt.status).toBe(413);
  });

  it('is plain JSON without undefined members', () => {
    const wire = new OciError('DENIED').toWire();
    expect(wire).toEqual({ code: 'DENIED', message: 'requested access to the resource is denied', status: 403 });
    expect(Object.keys(wire)).not.toContain('detail');
  });

  it('returns an OciError it is given as it is', () => {
    const error = new OciError('DENIED');
    expect(OciError.fromWire(error)).toBe(error);
  });

  it('turns what is not an OCI error into UNKNOWN (500)', () => {
    for (const value of [undefined, null, 'boom', 42, new Error('socket hang up'), { message: 'no code' }]) {
      const rebuilt = OciError.fromWire(value);
      expect(rebuilt.code).toBe('UNKNOWN');
      expect(rebuilt.status).toBe(500);
    }
  });

  it('turns a code it does not know into UNKNOWN, keeping the original in the detail', () => {
    const rebuilt = OciError.fromWire({ code: 'FUTURE_CODE', message: 'from a newer peer', detail: 'x', status: 418 });
    expect(rebuilt.code).toBe('UNKNOWN');
    expect(rebuilt.status).toBe(500);
    expect(rebuilt.detail).toEqual({ code: 'FUTURE_CODE', detail: 'x' });
  });

  it('ignores a malformed status or headers rather than trusting them', () => {
    const rebuilt = OciError.fromWire({ code: 'BLOB_UNKNOWN', status: 'x', headers: { a: 1 } });
    expect(rebuilt.status).toBe(404);
    expect(rebuilt.headers).toBeUndefined();
    expect(OciError.fromWire({ code: 'BLOB_UNKNOWN', status: 200 }).status).toBe(404);
  });
});
