// Lint carries the architecture: promises are awaited, switches are exhaustive, the
// import rules keep apps apart (DESIGN.md rule 6), and only the config and the cli read the
// environment (DESIGN.md rule 5).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const appNames = ['gateway', 'upload', 'manifest', 'health'];
const noApps = (except) => ({
  patterns: [
    {
      group: appNames.filter((name) => name !== except).map((name) => `@berth/${name}`),
      message: 'Apps never import each other; move what they share into libs/.',
    },
    // Import specifiers, not a path on disk (test/check-standalone.sh).
    { group: ['**/apps/**', '../../*/src/**'], message: 'Import packages by name (@berth/...), never by path.' }, // not a path
  ],
});

/** An app speaks the contracts; which transport carries them is the composition root's (cli) choice. */
const noBus = {
  group: ['@berth/bus'],
  message: 'Apps depend on the interfaces in @berth/contracts; the bus is composed in cli (app specs may use it).',
};

const envMessage = 'process.env is read only in libs/config and cli: take the value from BerthConfig (or the cli) instead.';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.state/**', 'eslint.config.mjs', 'vitest.config.mts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Nest's lifecycle and handler methods are async by contract even when they do not await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      eqeqeq: 'error',
      curly: ['error', 'multi-line'],
      'no-lone-blocks': 'error',
    },
  },
  ...appNames.map((name) => ({
    files: [`apps/${name}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [...noApps(name).patterns, noBus] }] },
  })),
  ...appNames.map((name) => ({
    files: [`apps/${name}/**/*.spec.ts`],
    rules: { 'no-restricted-imports': ['error', noApps(name)] },
  })),
  {
    files: ['libs/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', noApps()] },
  },
  {
    // Drivers know nothing of registries (Distribution's storagedriver.go).
    files: ['libs/storage-driver/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@berth/*'], message: 'The storage-driver lib imports no other berth package.' }] },
      ],
    },
  },
  {
    // Its tests may use the test helpers (backends started by the repo's scripts).
    files: ['libs/storage-driver/**/*.spec.ts', 'libs/storage-driver/test/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@berth/*', '!@berth/testing'], message: 'Driver tests import only @berth/testing.' }] },
      ],
    },
  },
  {
    // The configuration is read once, by libs/config (REGISTRY_* overrides) and the cli (the
    // process's own settings); everything else is handed the parsed config. Tests set up their
    // own backends from the environment.
    files: ['**/*.ts'],
    ignores: ['libs/config/**', 'cli/**', '**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**', 'libs/testing/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: envMessage }],
      // `import { env } from 'node:process'`, which the rule above does not see.
      'no-restricted-syntax': [
        'error',
        { selector: "ImportDeclaration[source.value=/^(node:)?process$/] > ImportSpecifier[imported.name='env']", message: envMessage },
      ],
    },
  },
  {
    // Plain Node scripts (test/summary): linted without type information, which needs a tsconfig.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts', 'libs/testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
