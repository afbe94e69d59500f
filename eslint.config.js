import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.d.ts', '**/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain Node scripts (launchers, fixture generators).
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly' },
    },
  },
  {
    // Browser-safe entries: Node-only code lives under src/node/ (tools/integration/test/browser-entries.test.ts
    // bundles them for the browser and also catches what third-party packages import).
    files: ['packages/{core,metrics,datasets,backend-tfjs,onnx-common,backend-onnx-web}/src/**/*.ts', 'examples/browser/src/**/*.ts'],
    ignores: ['**/src/node/**', 'packages/core/src/testing/**', 'packages/backend-tfjs/src/register.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', '@opnp/*/node', 'sharp', 'onnxruntime-node', '@opnp/backend-onnx'], message: 'This module is part of a browser-safe entry: move Node-only code under src/node/.' },
        ],
      }],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
);
