import { IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import { Socket } from 'node:net';
import { OciError } from '@berth/oci';
import { describe, expect, it } from 'vitest';
import { chunkOf, uploadStateOf } from './upload-request';

/** A request as Node hands it to the gateway, with these headers. */
function request(headers: IncomingHttpHeaders): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.headers = headers;
  return req;
}

function failure(parse: () => unknown): OciError {
  try {
    parse();
  } catch (error) {
    if (error instanceof OciError) return error;
    throw error;
  }
  throw new Error('expected an OciError');
}

describe('uploadStateOf', () => {
  it('is the _state parameter, as sent', () => {
    expect(uploadStateOf(new URLSearchParams('_state=abc%2Bdef%3D'))).toBe('abc+def=');
  });

  it('an upload URL without it is BLOB_UPLOAD_INVALID', () => {
    const error = failure(() => uploadStateOf(new URLSearchParams('digest=sha256:00')));
    expect([error.code, error.status, error.detail]).toEqual(['BLOB_UPLOAD_INVALID', 404, 'the upload URL lacks its _state parameter']);
  });
});

describe('chunkOf', () => {
  it('a declared body is the request stream with its length and range', () => {
    const req = request({ 'content-length': '10', 'content-range': '0-9' });
    expect(chunkOf(req, { start: 0, end: 9 })).toEqual({ body: req, length: 10, range: { start: 0, end: 9 } });
  });

  it('a chunked body has a stream and no length', () => {
    const req = request({ 'transfer-encoding': 'chunked' });
    expect(chunkOf(req)).toEqual({ body: req });
  });

  it.each([
    ['no length and not chunked', {}],
    ['a zero length', { 'content-length': '0' }],
  ])('%s is no body', (_title, headers: IncomingHttpHeaders) => {
    const chunk = chunkOf(request(headers));
    expect(chunk.body).toBeUndefined();
  });

  it.each(['ten', '-', '9007199254740993'])('Content-Length %j is SIZE_INVALID', (declared) => {
    const error = failure(() => chunkOf(request({ 'content-length': declared })));
    expect([error.code, error.status, error.detail]).toEqual(['SIZE_INVALID', 400, `Content-Length "${declared}" is not a byte count`]);
  });

  it('a Content-Length that disagrees with the Content-Range is SIZE_INVALID, before any byte is sent on', () => {
    const error = failure(() => chunkOf(request({ 'content-length': '3' }), { start: 0, end: 9 }));
    expect([error.code, error.status, error.detail]).toEqual(['SIZE_INVALID', 400, 'Content-Length 3 does not match Content-Range 0-9']);
  });

  it('a range without a length (chunked) is taken: the upload service counts the bytes that arrive', () => {
    const req = request({ 'transfer-encoding': 'chunked' });
    expect(chunkOf(req, { start: 5, end: 9 })).toEqual({ body: req, range: { start: 5, end: 9 } });
  });
});
