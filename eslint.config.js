// Lint runs inside `npm test`. It holds the room table of src/README.md (a test checks the two agree):
// which rooms a room may import, only through their index.ts, and which packages only one room may use.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ROOMS = [
  'core',
  'oci',
  'signature',
  'artifact',
  'kube',
  'flows',
  'webhook',
  'controller',
  'audit',
  'cli',
  'runtime',
];

/** The room table of src/README.md: what each room may import from src/. */
export const MAY_IMPORT = {
  core: [],
  oci: ['core', 'runtime'],
  signature: ['core', 'oci', 'runtime'],
  artifact: ['core', 'oci'],
  kube: ['core', 'runtime'],
  runtime: ['core'],
  flows: ['core', 'oci', 'signature', 'artifact', 'kube', 'runtime'],
  webhook: ['core', 'oci', 'signature', 'artifact', 'kube', 'flows', 'runtime'],
  controller: ['core', 'oci', 'signature', 'artifact', 'kube', 'flows', 'runtime'],
  audit: ['core', 'flows', 'kube', 'runtime'],
  cli: ['core', 'oci', 'signature', 'artifact', 'kube', 'flows', 'webhook', 'controller', 'audit', 'runtime'],
};

/** Packages only some rooms may import (values; type-only imports are free). */
const OWNED_PACKAGES = {
  '@kubernetes/client-node': ['kube'],
  fastify: ['webhook'],
  undici: ['oci'],
  pino: ['runtime'],
  'prom-client': ['runtime', 'webhook', 'controller'],
  commander: ['cli'],
  'tar-stream': ['artifact'],
  '@sigstore/bundle': ['signature'],
  '@sigstore/core': ['signature'],
  '@sigstore/verify': ['signature'],
  '@sigstore/tuf': ['signature'],
  '@sigstore/protobuf-specs': ['signature'],
  'node:child_process': ['cli'],
  'node:worker_threads': ['webhook'],
  'node:dns': ['oci'],
};

/** Only the OCI room (registries) and the kube room (the Kubernetes API) open sockets: the client functions of node's network modules are theirs. */
const SOCKET_ROOMS = ['oci', 'kube'];
const SOCKET_CLIENTS = {
  'node:net': ['connect', 'createConnection', 'Socket'],
  'node:tls': ['connect', 'TLSSocket'],
  'node:http': ['request', 'get', 'Agent'],
  'node:https': ['request', 'get', 'Agent'],
  'node:http2': ['connect'],
};

/** Pure core: no I/O at all. */
const IO_PACKAGES = [
  ...new Set([
    'node:fs',
    'node:fs/promises',
    'node:net',
    'node:http',
    'node:https',
    'node:http2',
    'node:child_process',
    'node:dgram',
    'node:dns',
    'node:tls',
    'node:worker_threads',
    'fs',
    'net',
    'http',
    'https',
    'child_process',
    ...Object.keys(OWNED_PACKAGES),
  ]),
];

/**
 * Light entries: a sub-folder of a room whose index.ts may be imported instead of the room's index.ts, so that
 * a command loads only the part it calls (`pinwarden pull` and `verify` import `flows/pull/`, not the admission
 * flow; BENCHMARKS.md, `pinwarden pull`).
 */
const LIGHT_ENTRIES = { flows: ['pull'] };

/** Another room's files are reached through its index.ts (core: through each sub-folder's index.ts). */
const skipsIndex = (room) =>
  room === 'core'
    ? {
        group: ['**/core/*/*', '!**/core/*/index.ts', '**/core/*/*/**'],
        message: 'import a core sub-folder through its index.ts (see src/README.md)',
      }
    : {
        group: [
          `**/${room}/*`,
          `!**/${room}/index.ts`,
          `**/${room}/*/**`,
          ...(LIGHT_ENTRIES[room] ?? []).flatMap((entry) => [`!**/${room}/${entry}`, `!**/${room}/${entry}/index.ts`]),
        ],
        message: `import ${room}/ through its index.ts (see src/README.md)`,
      };

function importRules(room) {
  const allowed = MAY_IMPORT[room];
  const banned = ROOMS.filter((other) => other !== room && !allowed.includes(other));
  const paths =
    room === 'core'
      ? IO_PACKAGES.map((name) => ({ name, message: 'core is pure: no I/O, no adapters' }))
      : [
          ...Object.entries(OWNED_PACKAGES)
            .filter(([, owners]) => !owners.includes(room))
            .map(([name, owners]) => ({
              name,
              allowTypeImports: true,
              message: `only ${owners.join(', ')} may import ${name} (see src/README.md)`,
            })),
          ...(SOCKET_ROOMS.includes(room)
            ? []
            : Object.entries(SOCKET_CLIENTS).map(([name, importNames]) => ({
                name,
                importNames,
                message: `only oci/ (registries) and kube/ (the Kubernetes API) open sockets (see src/README.md)`,
              }))),
        ];
  const patterns = [
    ...banned.map((other) => ({
      group: [`**/${other}/**`, `../${other}`, `../../${other}`],
      message: `${room} may not import ${other} (see src/README.md)`,
    })),
    ...allowed.map(skipsIndex),
  ];
  return { 'no-restricted-imports': ['error', { paths, patterns }] };
}

const roomRules = Object.keys(MAY_IMPORT).map((room) => ({
  files: [`src/${room}/**/*.ts`],
  rules: {
    ...importRules(room),
    ...(room === 'oci'
      ? {}
      : {
          'no-restricted-globals': [
            'error',
            { name: 'fetch', message: 'only oci/ opens sockets to registries (see src/README.md)' },
            { name: 'WebSocket', message: 'only oci/ opens sockets (see src/README.md)' },
          ],
        }),
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'deploy/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Interface implementations are async by contract even when a fake has nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'use an as-const object' }],
    },
  },
  ...roomRules,
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
