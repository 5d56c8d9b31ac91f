// Lint carries the architecture: promises are awaited, switches are exhaustive, and the
// import rules keep apps apart (DESIGN.md rule 6).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const appNames = ['gateway', 'upload', 'manifest', 'health'];
const noApps = (except) => ({
  patterns: [
    {
      group: appNames.filter((name) => name !== except).map((name) => `@berth/${name}`),
      message: 'Apps never import each other; move what they share into libs/.',
    },
    { group: ['**/apps/**', '../../*/src/**'], message: 'Import packages by name (@berth/...), never by path.' },
  ],
});

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
