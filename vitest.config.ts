import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/** Tests run on the sources: `@berth/<name>` resolves to libs/<name>/src or apps/<name>/src. */
function berthSource(name: string): string {
  for (const dir of ['libs', 'apps']) {
    const entry = resolve(__dirname, dir, name, 'src/index.ts');
    if (existsSync(entry)) return entry;
  }
  throw new Error(`no workspace package @berth/${name}`);
}

export default defineConfig({
  // SWC, not esbuild: Nest's dependency injection needs emitDecoratorMetadata.
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: [{ find: /^@berth\/([a-z-]+)$/, replacement: '$1', customResolver: (id) => berthSource(id) }],
  },
  test: {
    include: ['{apps,libs,cli,test}/**/*.{spec,e2e-spec}.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
