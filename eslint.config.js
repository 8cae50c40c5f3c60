// Lint runs inside `npm test`. Room import bans keep the pure core pure (see src/README.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const IO_PACKAGES = [
  'node:fs', 'node:fs/promises', 'node:net', 'node:http', 'node:https', 'node:http2', 'node:child_process',
  'node:dgram', 'node:dns', 'node:tls', 'fs', 'net', 'http', 'https', 'child_process',
  'fastify', '@kubernetes/client-node', 'pino', 'prom-client', 'undici', 'commander', 'tar-stream',
];
const ROOMS = ['core', 'oci', 'signature', 'artifact', 'kube', 'flows', 'webhook', 'controller', 'audit', 'cli', 'runtime'];
const roomBan = (from, rooms) => ({
  patterns: rooms.map((room) => ({ group: [`**/${room}/**`, `../${room}`, `../../${room}`], message: `${from} may not import ${room} (see src/README.md)` })),
});
/** The room table of src/README.md: what each room may import from src/. */
const MAY_IMPORT = {
  oci: ['core', 'runtime'],
  signature: ['core', 'oci', 'runtime'],
  artifact: ['core', 'oci'],
  kube: ['core', 'runtime'],
  runtime: ['core'],
  flows: ['core', 'oci', 'signature', 'artifact', 'kube', 'runtime'],
  webhook: ['core', 'oci', 'signature', 'artifact', 'kube', 'flows', 'runtime'],
  controller: ['core', 'oci', 'signature', 'artifact', 'kube', 'flows', 'runtime'],
  audit: ['core', 'flows', 'kube', 'runtime'],
};
const adapterRules = Object.entries(MAY_IMPORT).map(([room, allowed]) => ({
  files: [`src/${room}/**/*.ts`],
  rules: { 'no-restricted-imports': ['error', roomBan(room, ROOMS.filter((other) => other !== room && !allowed.includes(other)))] },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'deploy/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'], package: 'node:test' }],
      }],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Interface implementations are async by contract even when a fake has nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'use an as-const object' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: IO_PACKAGES,
        ...roomBan('core', ROOMS.filter((room) => room !== 'core')),
      }],
    },
  },
  ...adapterRules,
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
