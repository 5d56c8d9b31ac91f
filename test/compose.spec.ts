import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

// No Docker engine runs in CI: the compose file is checked for what can be checked without one.
describe('docker-compose.yml', () => {
  const compose = load(readFileSync(join(__dirname, '..', 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { ports?: string[]; build?: unknown; healthcheck?: unknown }>;
    volumes?: Record<string, unknown>;
  };

  it('publishes port 5000 only, from a service built from this repository with a health check', () => {
    const published = Object.entries(compose.services).filter(([, service]) => service.ports?.length);
    expect(published.map(([name, service]) => [name, service.ports])).toEqual([['berth', ['5000:5000']]]);
    expect(compose.services.berth?.build).toBe('.');
    expect(compose.services.berth?.healthcheck).toBeDefined();
  });

  it('keeps images in a named volume', () => {
    expect(Object.keys(compose.volumes ?? {})).toEqual(['registry']);
  });
});
