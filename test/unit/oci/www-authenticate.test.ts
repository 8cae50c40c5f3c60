import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWwwAuthenticate } from '../../../src/oci/index.ts';

test('WWW-Authenticate parsing', async (t) => {
  const table: [string, ReturnType<typeof parseWwwAuthenticate>][] = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/alpine:pull',
          },
        },
      ],
    ],
    // Quoted commas (multiple actions) must not split the param.
    [
      'Bearer realm="https://ghcr.io/token",scope="repository:a/b:pull,push"',
      [{ scheme: 'bearer', params: { realm: 'https://ghcr.io/token', scope: 'repository:a/b:pull,push' } }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['basic   realm=plain , charset="UTF-8"', [{ scheme: 'basic', params: { realm: 'plain', charset: 'UTF-8' } }]],
    [
      'Basic realm="x", Bearer realm="https://t/token", error="insufficient_scope"',
      [
        { scheme: 'basic', params: { realm: 'x' } },
        { scheme: 'bearer', params: { realm: 'https://t/token', error: 'insufficient_scope' } },
      ],
    ],
    ['Bearer realm="a\\"b\\\\c", Service=S', [{ scheme: 'bearer', params: { realm: 'a"b\\c', service: 'S' } }]],
    ['Bearer realm="unterminated', [{ scheme: 'bearer', params: { realm: 'unterminated' } }]],
    ['Bearer', [{ scheme: 'bearer', params: {} }]],
    ['', []],
    [' , ,', []],
  ];
  for (const [header, expected] of table) {
    await t.test(header || '(empty)', () => assert.deepEqual(parseWwwAuthenticate(header), expected));
  }
});
