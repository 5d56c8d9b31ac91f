#!/usr/bin/env node
// The import graph between berth's packages, read from the sources themselves (not package.json):
// one line per package with the @berth packages its non-test sources import, then those its tests
// add. `node test/package-graph.mjs` from the repository's root.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['apps', 'libs', 'cli'];
const packages = roots.flatMap((root) =>
  root === 'cli' ? ['cli'] : readdirSync(root).map((name) => join(root, name)).filter((dir) => statSync(dir).isDirectory()),
);

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

const isTest = (path) => /\.(spec|e2e-spec)\.ts$/.test(path) || /\/test\//.test(path);

for (const dir of packages) {
  const own = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
  const code = new Set();
  const tests = new Set();
  for (const file of sources(dir)) {
    for (const [, name] of readFileSync(file, 'utf8').matchAll(/from '(@berth\/[a-z-]+)'/g)) {
      if (name !== own) (isTest(file) ? tests : code).add(name);
    }
  }
  const extra = [...tests].filter((name) => !code.has(name));
  const list = (set) => [...set].sort().join(', ') || '-';
  console.log(`${own} -> ${list(code)}${extra.length ? `   (tests also: ${list(extra)})` : ''}`);
}
