// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/reports/**',
      '.infra/**',
      'bench/**/results/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ExportAllDeclaration',
          message: 'Export names explicitly: no `export *` chains (STYLE.md).',
        },
      ],
    },
  },
  {
    // Node scripts run as they are (deploy/*.mjs, scripts/*.mjs): Node's globals.
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // Plain scripts served to browsers (the widget): no build step, browser globals.
    files: ['**/public/**/*.js'],
    languageOptions: { sourceType: 'script', globals: globals.browser },
  },
);
