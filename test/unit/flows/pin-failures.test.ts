import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PinwardenError } from '../../../src/core/errors.ts';
import { createPinFailureLog } from '../../../src/flows/index.ts';
import type { PinTarget } from '../../../src/core/mutation/index.ts';

const object = { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'OCIRepository', namespace: 'apps', name: 'a' };
const target: PinTarget = { url: 'oci://Ghcr.io/acme/app/', source: { kind: 'tag', tag: 'v1', implicit: false } };
const error = new PinwardenError('PW_DEADLINE', 'timed out');

test('a recorded failure is found for the same object, url (normalised) and ref, until its TTL', () => {
  let now = 1000;
  const log = createPinFailureLog({ ttlMs: 500, now: () => now });
  log.record(object, target, error);
  assert.equal(log.lookup(object, { ...target, url: 'oci://ghcr.io/acme/app' })?.code, 'PW_DEADLINE');
  assert.equal(log.lookup({ ...object, name: 'b' }, target), undefined);
  assert.equal(log.lookup(object, { ...target, source: { kind: 'tag', tag: 'v2', implicit: false } }), undefined);
  now += 500;
  assert.equal(log.lookup(object, target), undefined, 'expired');
});

test('forget removes it; the log stays bounded', () => {
  const log = createPinFailureLog({ maxEntries: 2 });
  log.record(object, target, error);
  log.forget(object, target);
  assert.equal(log.lookup(object, target), undefined);
  for (const name of ['a', 'b', 'c']) log.record({ ...object, name }, target, error);
  assert.equal(log.lookup({ ...object, name: 'a' }, target), undefined, 'oldest evicted');
  assert.ok(log.lookup({ ...object, name: 'c' }, target));
});
