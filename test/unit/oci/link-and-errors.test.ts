import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { nextLink, parseLinks } from '../../../src/oci/link.ts';
import { redactSecrets, redactUrl, summarizeErrorBody } from '../../../src/oci/registry-error.ts';

const BASE = new URL('https://r.io/v2/a/tags/list?n=2');

test('Link: the rel="next" target, resolved against the request URL', () => {
  assert.equal(
    nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"', BASE)?.href,
    'https://r.io/v2/a/tags/list?n=2&last=b',
  );
  assert.equal(
    nextLink('<https://r.io/v2/a/tags/list?last=x,y>; rel=next', BASE)?.href,
    'https://r.io/v2/a/tags/list?last=x,y',
  );
  assert.equal(nextLink('</prev>; rel="prev", </next>; rel="next"', BASE)?.pathname, '/next');
  assert.equal(nextLink('</x>; rel="prev"', BASE), undefined);
  assert.equal(nextLink(undefined, BASE), undefined);
  assert.deepEqual(parseLinks('<a>; rel="next last"'), [{ target: 'a', rels: ['next', 'last'] }]);
});

test('Link: another origin is a protocol error (our credentials stay home)', () => {
  assert.throws(
    () => nextLink('<https://evil.example/v2/a/tags/list>; rel="next"', BASE),
    (error: unknown) => error instanceof PinwardenError && error.code === 'PW_REGISTRY_PROTOCOL',
  );
});

test('error bodies: codes and messages only, capped, control characters removed', () => {
  const body = (value: unknown) => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
  assert.equal(
    summarizeErrorBody(
      body({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied', detail: 'x' }] }),
    ),
    'DENIED: requested access to the resource is denied',
  );
  assert.equal(summarizeErrorBody(body({ errors: [{ code: 'A' }, { code: 'B', message: 'b' }] })), 'A; B: b');
  assert.equal(summarizeErrorBody(body('<html>\n\t502 Bad\u0007 Gateway</html>')), '<html> 502 Bad Gateway</html>');
  assert.ok(summarizeErrorBody(body('x'.repeat(1000))).length <= 201);
  assert.equal(
    summarizeErrorBody(body('Authorization: Bearer abc.def.ghi was rejected')),
    'Authorization: Bearer [redacted] was rejected',
  );
});

test('secrets and query strings are redacted', () => {
  assert.equal(
    redactUrl(new URL('https://u:p@r.io/v2/a/blobs/uploads/x?_state=SECRET&digest=y')),
    'https://r.io/v2/a/blobs/uploads/x',
  );
  assert.equal(redactSecrets('token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig here'), 'token [redacted-jwt] here');
  assert.equal(redactSecrets('basic dXNlcjpwYXNz'), 'basic [redacted]');
});
