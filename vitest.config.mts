import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig, type Plugin } from 'vitest/config';

/** Tests run on the sources: `@berth/<name>` resolves to libs/<name>/src or apps/<name>/src. */
function berthSources(): Plugin {
  return {
    name: 'berth-sources',
    enforce: 'pre',
    resolveId(id) {
      const name = /^@berth\/([a-z-]+)$/.exec(id)?.[1];
      if (name === undefined) return null;
      for (const dir of ['libs', 'apps']) {
        const entry = resolve(import.meta.dirname, dir, name, 'src/index.ts');
        if (existsSync(entry)) return entry;
      }
      return null;
    },
  };
}

export default defineConfig({
  // SWC, not esbuild: Nest's dependency injection needs emitDecoratorMetadata.
  plugins: [berthSources(), swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['{apps,libs,cli,test}/**/*.{spec,e2e-spec}.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
