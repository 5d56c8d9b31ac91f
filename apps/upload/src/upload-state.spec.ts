import { createHmac } from 'node:crypto';
import { OciError } from '@berth/oci';
import { describe, expect, it, vi } from 'vitest';
import { type UploadState, UploadStateSigner, uploadStateSecret } from './upload-state';

const state: UploadState = { name: 'library/alpine', uuid: 'u-1', offset: 42, startedAt: '2024-05-01T10:00:00Z' };

function codeOf(call: () => unknown): string | undefined {
  try {
    call();
  } catch (error) {
    return error instanceof OciError ? error.code : 'not an OciError';
  }
  return undefined;
}

describe('UploadStateSigner', () => {
  const signer = new UploadStateSigner('s3cret');

  it('round-trips a state for its repository and upload', () => {
    expect(signer.unpack(signer.pack(state), 'library/alpine', 'u-1')).toEqual(state);
  });

  it("writes the reference's token: padded base64url of HMAC-SHA256 then Go-named JSON", () => {
    const token = signer.pack(state);
    const bytes = Buffer.from(token, 'base64url');
    const json = bytes.subarray(32);
    expect(JSON.parse(json.toString())).toEqual({ Name: 'library/alpine', UUID: 'u-1', Offset: 42, StartedAt: '2024-05-01T10:00:00Z' });
    expect(bytes.subarray(0, 32)).toEqual(createHmac('sha256', 's3cret').update(json).digest());
    expect(token.length % 4).toBe(0);
  });

  it('reads a token as the reference writes it (nanosecond time, extra fields)', () => {
    const json = Buffer.from('{"Name":"r","UUID":"u","Offset":7,"StartedAt":"2024-05-01T10:00:00.123456789Z","DigestAlgorithm":"sha512"}');
    const token = Buffer.concat([createHmac('sha256', 'k').update(json).digest(), json]).toString('base64');
    const goToken = token.replace(/\+/g, '-').replace(/\//g, '_');
    expect(new UploadStateSigner('k').unpack(goToken, 'r', 'u')).toEqual({
      name: 'r',
      uuid: 'u',
      offset: 7,
      startedAt: '2024-05-01T10:00:00.123456789Z',
    });
  });

  it('refuses forged, tampered, foreign and garbage tokens with BLOB_UPLOAD_INVALID', () => {
    const token = signer.pack(state);
    const bytes = Buffer.from(token, 'base64url');
    const tampered = Buffer.from(bytes);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 3) ^ 1, tampered.length - 3);
    expect(codeOf(() => new UploadStateSigner('other').unpack(token, 'library/alpine', 'u-1'))).toBe('BLOB_UPLOAD_INVALID');
    expect(codeOf(() => signer.unpack(tampered.toString('base64url'), 'library/alpine', 'u-1'))).toBe('BLOB_UPLOAD_INVALID');
    expect(codeOf(() => signer.unpack(token, 'library/busybox', 'u-1'))).toBe('BLOB_UPLOAD_INVALID');
    expect(codeOf(() => signer.unpack(token, 'library/alpine', 'u-2'))).toBe('BLOB_UPLOAD_INVALID');
    expect(codeOf(() => signer.unpack('', 'library/alpine', 'u-1'))).toBe('BLOB_UPLOAD_INVALID');
    expect(codeOf(() => signer.unpack('%%%', 'library/alpine', 'u-1'))).toBe('BLOB_UPLOAD_INVALID');
  });

  it('refuses a well-signed message that is not an upload state', () => {
    const json = Buffer.from('{"Name":"r","UUID":"u","Offset":-1,"StartedAt":"x"}');
    const token = Buffer.concat([createHmac('sha256', 'k').update(json).digest(), json]).toString('base64url');
    expect(codeOf(() => new UploadStateSigner('k').unpack(token, 'r', 'u'))).toBe('BLOB_UPLOAD_INVALID');
  });
});

describe('uploadStateSecret', () => {
  it('uses http.secret when configured, silently', () => {
    const warn = vi.fn();
    expect(uploadStateSecret('configured', warn)).toBe('configured');
    expect(warn).not.toHaveBeenCalled();
  });

  it('generates a random secret and warns when none is configured', () => {
    const warn = vi.fn();
    const first = uploadStateSecret(undefined, warn);
    expect(first).not.toBe(uploadStateSecret(undefined, () => undefined));
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('http.secret'));
  });
});
