// Property: for any policy with rules and any object (tenant-written, so any shape), selectRule picks the
// first rule whose match fits by a plain reading of the match semantics, or the closing rule; never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadPolicy, type PolicyRule } from '../../../../src/core/policy/index.ts';
import { selectRule } from '../../../../src/core/scope/index.ts';

const NAMESPACES = ['apps', 'team-a', 'team-b'];
const URLS = ['oci://ghcr.io/acme', 'oci://ghcr.io/acme/app', 'oci://ghcr.io/acmex', 'oci://quay.io/x'];
const LABELS = [{}, { team: 'blue' }, { team: 'red' }, { tier: 'prod' }];

const match = fc.record(
  {
    urls: fc.subarray(URLS, { minLength: 1 }),
    namespaces: fc.subarray(NAMESPACES, { minLength: 1 }),
    namespaceSelector: fc.constantFrom(
      { matchLabels: { tenant: 'true' } },
      { matchExpressions: [{ key: 'tenant', operator: 'DoesNotExist' as const }] },
    ),
    selector: fc.constantFrom(
      { matchLabels: { team: 'blue' } },
      { matchExpressions: [{ key: 'team', operator: 'NotIn' as const, values: ['red'] }] },
    ),
  },
  { requiredKeys: [] },
);

const object = fc.record({
  kind: fc.constantFrom('OCIRepository', 'Bucket'),
  namespace: fc.option(fc.constantFrom(...NAMESPACES), { nil: undefined }),
  url: fc.oneof(
    fc.constantFrom(...URLS.map((url) => `${url}/svc`), ...URLS),
    fc.string(),
    fc.jsonValue({ maxDepth: 1 }),
  ),
  labels: fc.oneof(fc.constantFrom(...LABELS), fc.jsonValue({ maxDepth: 1 })),
});

const nsLabels = fc.option(fc.constantFrom<Record<string, string>>({ tenant: 'true' }, {}), { nil: undefined });

function prefixFits(url: unknown, prefix: string): boolean {
  if (typeof url !== 'string') return false;
  const clean = url.trim().replace(/\/+$/, '');
  return clean === prefix || clean.startsWith(`${prefix}/`);
}

/** The match semantics read plainly from the README, independent of src/core/scope. */
function expected(
  rules: PolicyRule[],
  input: { kind: string; namespace: string | undefined; url: unknown; labels: unknown },
  labels: Record<string, string> | undefined,
): string {
  const objectLabels =
    typeof input.labels === 'object' && input.labels !== null && !Array.isArray(input.labels)
      ? (input.labels as Record<string, unknown>)
      : {};
  for (const rule of rules) {
    const m = rule.match ?? {};
    if (m.urls && (input.kind !== 'OCIRepository' || !m.urls.some((prefix) => prefixFits(input.url, prefix)))) continue;
    if (m.namespaces && (input.namespace === undefined || !m.namespaces.includes(input.namespace))) continue;
    if (m.selector) {
      const team = objectLabels.team;
      const fits = m.selector.matchLabels ? team === 'blue' : team !== 'red';
      if (!fits) continue;
    }
    if (m.namespaceSelector) {
      if (input.namespace === undefined || labels === undefined) continue;
      const fits = m.namespaceSelector.matchLabels ? labels.tenant === 'true' : labels.tenant === undefined;
      if (!fits) continue;
    }
    return rule.name;
  }
  return 'default';
}

test('selectRule is the first fitting rule (property)', () => {
  fc.assert(
    fc.property(fc.array(match, { minLength: 1, maxLength: 5 }), object, nsLabels, (matches, input, labels) => {
      // A rule without match may only close the list (the loader refuses it elsewhere).
      const rules = matches.map((entry, index) => ({
        name: `r${index}`,
        match: Object.keys(entry).length === 0 && index < matches.length - 1 ? { namespaces: ['apps'] } : entry,
      }));
      const policy = loadPolicy(
        JSON.stringify({
          apiVersion: 'pinwarden.dev/v1alpha1',
          kind: 'SourcePolicy',
          metadata: { name: 'p' },
          spec: { rules },
        }),
        'p',
      );
      const manifest = {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: input.kind,
        metadata: {
          name: 'x',
          ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
          labels: input.labels,
        },
        spec: { url: input.url },
      };
      const selected = selectRule(manifest, policy, labels ? { namespaceLabels: labels } : {});
      assert.equal(selected.rule.name, expected(policy.spec.rules ?? [], input, labels));
    }),
    { numRuns: 500, seed: 12 },
  );
});
