import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/**', 'data/**', 'tests/fixtures/audit-corpus/**', 'examples/*/.next/**', 'examples/*/node_modules/**', 'examples/*/next-env.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Authorization never depends on authentication (seed pattern 6): src/authz may import
    // only from inside src/authz. tests/authz.test.ts checks the same.
    files: ['src/authz/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../*', 'gatehouse', 'gatehouse/*'], message: 'src/authz must not import authentication code.' }] }],
    },
  },
  {
    files: ['scripts/**/*.mjs', '.ci/**', '*.mjs', '*.js', 'examples/*/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', AbortSignal: 'readonly', AbortController: 'readonly', performance: 'readonly', setInterval: 'readonly', clearInterval: 'readonly' } },
  },
);
