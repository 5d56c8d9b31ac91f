import type { TLSSocket } from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import { BERTH_CONFIG, type BerthConfig } from '@berth/config';
import type { HttpRequest } from './http-answers';

/**
 * The URLs berth names in `Location` headers, built as the reference's URL builder
 * builds them (Distribution 2.8, registry/api/v2/urls.go and handlers/app.go):
 *
 * - `http.host` set: absolute on that URL, whatever `http.relativeurls` says;
 * - else `http.relativeurls: true`: the path alone;
 * - else absolute on the request: `https` on TLS, else `http`, and the `Host` header, both
 *   replaced by the first element of a `Forwarded` header (RFC 7239) when there is one (a
 *   malformed one is ignored, and the `X-Forwarded-*` headers with it), otherwise by
 *   `X-Forwarded-Proto` and the first host of `X-Forwarded-Host`.
 */
@Injectable()
export class RegistryUrls {
  private readonly host: string | undefined;
  private readonly relative: boolean;

  constructor(@Inject(BERTH_CONFIG) config: BerthConfig) {
    this.host = config.http.host;
    this.relative = config.http.relativeurls;
  }

  /** `path` (`/v2/...`, its query already encoded) as a URL for the answer to `req`. */
  of(req: HttpRequest, path: string): string {
    // As Go's ResolveReference: the route joins the host URL's path up to its last `/`.
    if (this.host !== undefined) return new URL(path.slice(1), this.host).toString();
    if (this.relative) return path;
    const { scheme, host } = requestOrigin(req);
    return `${scheme}://${host}${path}`;
  }
}

function requestOrigin(req: HttpRequest): { scheme: string; host: string } {
  let scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
  let host = req.headers.host ?? '';
  const forwarded = firstHeader(req, 'forwarded');
  if (forwarded !== undefined && forwarded !== '') {
    const element = parseForwarded(forwarded);
    if (element?.proto) scheme = element.proto;
    if (element?.host) host = element.host;
    return { scheme, host };
  }
  const proto = firstHeader(req, 'x-forwarded-proto');
  if (proto) scheme = proto;
  const forwardedHost = firstHeader(req, 'x-forwarded-host');
  // Each proxy appends the host it was asked for: the first is the client's.
  if (forwardedHost) host = forwardedHost.split(',', 1)[0]!.trim();
  return { scheme, host };
}

/** The first line of a header sent several times, as Go's `Header.Get` reads it. */
function firstHeader(req: HttpRequest, name: string): string | undefined {
  return req.headersDistinct[name]?.[0];
}

// RFC 7230 tokens, and the characters a quoted-string may hold unescaped.
const TOKEN = /^[^"(),/:;<=>?@[\]{}\s\p{Cc}]+/u;
const QUOTED_RUN = /^[^\\"]+/;

/**
 * The parameters of the first element of a `Forwarded` header (`for=…;proto=https;host=…`),
 * names lower-cased; `undefined` when it is malformed (a duplicate parameter included), as
 * the reference's parser refuses it.
 */
export function parseForwarded(header: string): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  let rest = header.trimStart();
  while (rest !== '' && !rest.startsWith(',')) {
    const name = TOKEN.exec(rest)?.[0];
    if (name === undefined) return undefined;
    rest = rest.slice(name.length).trimStart();
    if (!rest.startsWith('=')) return undefined;
    rest = rest.slice(1).trimStart();
    const value = rest.startsWith('"') ? readQuoted(rest) : readToken(rest);
    if (value === undefined) return undefined;
    const key = name.toLowerCase();
    if (Object.prototype.hasOwnProperty.call(parameters, key)) return undefined;
    parameters[key] = value.value;
    rest = value.rest.trimStart();
    if (rest.startsWith(';')) rest = rest.slice(1).trimStart();
    else if (rest !== '' && !rest.startsWith(',')) return undefined;
  }
  return parameters;
}

function readToken(text: string): { value: string; rest: string } | undefined {
  const value = TOKEN.exec(text)?.[0];
  return value === undefined ? undefined : { value, rest: text.slice(value.length) };
}

function readQuoted(text: string): { value: string; rest: string } | undefined {
  let value = '';
  let rest = text.slice(1);
  for (;;) {
    const run = QUOTED_RUN.exec(rest)?.[0] ?? '';
    value += run;
    rest = rest.slice(run.length);
    if (rest === '') return undefined;
    if (rest.startsWith('"')) return { value, rest: rest.slice(1) };
    // A backslash escapes the next visible character or blank.
    const escaped = rest[1];
    if (escaped === undefined || !/^[\x20-\x7e\t]$/.test(escaped)) return undefined;
    value += escaped;
    rest = rest.slice(2);
  }
}
