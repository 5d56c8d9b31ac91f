import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFromString } from '@berth/config';
import { parseForwarded, RegistryUrls } from './registry-urls';

const PATH = '/v2/a/b/blobs/uploads/u-1?_state=x%3D';

/** A real server whose answer is the URL `urls` builds for PATH from the request it got. */
async function serve(urls: RegistryUrls): Promise<{ server: Server; urlFor: (headers: [string, string][]) => Promise<string> }> {
  const server = createServer((req, res) => res.end(urls.of(req, PATH)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const urlFor = (headers: [string, string][]) =>
    new Promise<string>((resolve, reject) => {
      // Headers as a flat list: a name may repeat, as proxies send them.
      const req = request({ host: '127.0.0.1', port, path: '/', headers: headers.flat(), setHost: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  return { server, urlFor };
}

function urlsWith(http: string): RegistryUrls {
  return new RegistryUrls(loadConfigFromString(`version: 0.1\nstorage: inmemory\nhttp: {${http}}\n`, 'config.yml', {}));
}

describe('RegistryUrls', () => {
  const servers: Server[] = [];
  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });
  async function urlFor(http: string, headers: [string, string][]): Promise<string> {
    const served = await serve(urlsWith(http));
    servers.push(served.server);
    return served.urlFor(headers);
  }

  it('is absolute on the request\'s Host by default', async () => {
    expect(await urlFor('', [['Host', 'registry.test:5000']])).toBe(`http://registry.test:5000${PATH}`);
  });

  it('takes X-Forwarded-Proto and the first host of X-Forwarded-Host, the first header of each name', async () => {
    const headers: [string, string][] = [
      ['Host', 'inner:5000'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Host', ' outer.test , proxy.test'],
    ];
    expect(await urlFor('', headers)).toBe(`https://outer.test${PATH}`);
  });

  it('prefers a Forwarded header, and ignores X-Forwarded-* beside it even when it is malformed', async () => {
    const forwarded: [string, string] = ['Forwarded', 'for=10.0.0.1;proto=https;host="outer.test:8443", for=10.0.0.2;host=proxy'];
    expect(await urlFor('', [['Host', 'inner'], forwarded, ['X-Forwarded-Host', 'other']])).toBe(`https://outer.test:8443${PATH}`);
    expect(await urlFor('', [['Host', 'inner'], ['Forwarded', 'host=a:1'], ['X-Forwarded-Host', 'other']])).toBe(`http://inner${PATH}`);
  });

  it('is the path alone with http.relativeurls', async () => {
    expect(await urlFor('relativeurls: true', [['Host', 'inner'], ['X-Forwarded-Host', 'outer']])).toBe(PATH);
  });

  it('is on http.host whatever the request or http.relativeurls say, joined as Go resolves a reference', async () => {
    const headers: [string, string][] = [['Host', 'inner'], ['X-Forwarded-Host', 'outer']];
    expect(await urlFor('host: "https://registry.example.com", relativeurls: true', headers)).toBe(`https://registry.example.com${PATH}`);
    expect(await urlFor('host: "https://registry.example.com/mirror/"', headers)).toBe(`https://registry.example.com/mirror${PATH}`);
    expect(await urlFor('host: "https://registry.example.com/mirror"', headers)).toBe(`https://registry.example.com${PATH}`);
  });
});

describe('parseForwarded', () => {
  it.each([
    ['proto=https;host=example.com', { proto: 'https', host: 'example.com' }],
    ['For="[2001:db8::1]:4711"; Proto=http', { for: '[2001:db8::1]:4711', proto: 'http' }],
    ['host="a\\"b"', { host: 'a"b' }],
    ['proto=https, proto=http', { proto: 'https' }],
    [', proto=http', {}],
  ])('%s → %o', (header, parameters) => {
    expect(parseForwarded(header)).toEqual(parameters);
  });

  it.each(['host=a:1', 'proto=https;proto=http', 'host="unterminated', 'proto', 'proto=https host=x'])('refuses %s', (header) => {
    expect(parseForwarded(header)).toBeUndefined();
  });
});
