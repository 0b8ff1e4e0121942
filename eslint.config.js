// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** What a service's domain/ may not import (as values). */
const DOMAIN_FORBIDDEN = [
  'fastify',
  'fastify-plugin',
  '@fastify/cors',
  '@fastify/static',
  'prom-client',
  'pg',
  'ioredis',
  'kafkajs',
  'ws',
  'undici',
  'openai',
  '@anthropic-ai/sdk',
  '@google/genai',
  '@parley/service-kit',
  '@parley/infrastructure',
  '@parley/kafka',
  '@parley/redis',
  '@parley/postgres',
  '@parley/embedded',
  'node:fs',
  'node:fs/promises',
  'node:http',
  'node:https',
  'node:net',
  'node:child_process',
  'node:worker_threads',
];

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
    // A service's domain is pure (issue 20): no framework, client, SDK, file or network I/O.
    // It reaches the world through ports it is handed; types may still be imported.
    files: ['services/*/src/domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: DOMAIN_FORBIDDEN.map((name) => ({
            name,
            allowTypeImports: true,
            message: 'domain/ has no I/O: put this in adapters/, store/ or the module (issue 20).',
          })),
          patterns: [
            {
              group: [
                '../adapters/*',
                '../store/*',
                '../routes/*',
                '../consumers/*',
                '../providers/*',
                '../router/*',
                '../ws/*',
                '../module.js',
                '../app.js',
              ],
              allowTypeImports: true,
              message: 'domain/ does not depend on the layers around it (issue 20).',
            },
          ],
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
