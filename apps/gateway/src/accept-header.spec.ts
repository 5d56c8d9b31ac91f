import { MediaType } from '@berth/oci';
import { describe, expect, it } from 'vitest';
import { acceptsMediaType } from './accept-header';

const oci = MediaType.OciManifest;
const docker = MediaType.DockerManifest;

describe('acceptsMediaType', () => {
  it.each([undefined, '', '   '])('no Accept (%j) allows any manifest', (header) => {
    expect(acceptsMediaType(header, oci)).toBe(true);
  });

  it.each([
    ['the type itself', oci],
    ['one of several, with spaces', `${docker}, ${oci}`],
    ['with a quality parameter', `${oci};q=0.9`],
    ['in capitals', oci.toUpperCase()],
    ['*/*', '*/*'],
    ['application/*', 'application/*'],
    ['a wildcard among others', `${docker},*/*;q=0.1`],
  ])('allows %s', (_title, header) => {
    expect(acceptsMediaType(header, oci)).toBe(true);
  });

  it.each([
    ['another manifest type', docker],
    ['schema 1 only (an old Docker client)', 'application/vnd.docker.distribution.manifest.v1+prettyjws'],
    ['a prefix of the type', 'application/vnd.oci.image.manifest'],
    ['a wildcard of another top-level type', 'text/*'],
    ['JSON', 'application/json'],
  ])('refuses %s', (_title, header) => {
    expect(acceptsMediaType(header, oci)).toBe(false);
  });
});
