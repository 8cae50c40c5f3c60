/**
 * The keyless identity rules. Flux matches matchOIDCIdentity with Go regexp, unanchored, entries OR-ed,
 * so every entry must on its own be provably inside one allowed identity (issuer AND subject).
 */
import type { OciRepositoryView, OidcIdentity } from '../flux/objects.ts';
import { goRegexSyntaxError } from '../go-regex.ts';
import { isKeylessCosign, type OciRepositoryRule, type RuleContext, type RuleFinding } from './rule.ts';
import { identityVerdicts, startObjectBudget, type IdentityVerdict } from './identity-verdict.ts';

const FIELDS = ['issuer', 'subject'] as const;

export const identityRegexInvalid: OciRepositoryRule = {
  id: 'identity-regex-invalid',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'matchOIDCIdentity issuer and subject must be Go (RE2) regular expressions, as Flux compiles them.',
  check(view) {
    return keylessEntries(view).flatMap(({ entry, index }) =>
      FIELDS.flatMap((field) => {
        const problem = syntaxProblem(entry[field]);
        return problem
          ? [
              {
                path: `spec.verify.matchOIDCIdentity[${index}].${field}`,
                message: `${field} ${problem}`,
                fix: 'write the pattern in Go RE2 syntax (no lookaround or backreferences), anchored with ^…$',
              },
            ]
          : [];
      }),
    );
  },
};

export const identityNotAllowed = containmentRule(
  'identity-not-allowed',
  'Every matchOIDCIdentity entry must accept only identities that one allowed policy identity accepts.',
  'not-allowed',
);

export const identityTooComplex = containmentRule(
  'identity-too-complex',
  'An identity regex whose automaton is too large to decide inclusion in bounded time is denied.',
  'too-complex',
);

/** The two rules one containment decision feeds: each reports its own kind of verdict. */
function containmentRule(id: string, summary: string, wanted: IdentityVerdict['kind']): OciRepositoryRule {
  return {
    id,
    kind: 'OCIRepository',
    severity: 'error',
    summary,
    check: (view, context) => containmentFindings(view, context, wanted),
  };
}

export const identityMultipleEntries: OciRepositoryRule = {
  id: 'identity-multiple-entries',
  kind: 'OCIRepository',
  severity: 'warning',
  summary: "More than one matchOIDCIdentity entry fails Flux's cosign v3 (sigstore bundle) verification path.",
  check(view) {
    const count = isKeylessCosign(view) ? (view.verify?.identities.length ?? 0) : 0;
    if (count <= 1) return [];
    return [
      {
        path: 'spec.verify.matchOIDCIdentity',
        message: `${count} identities: Flux verifies cosign v3 bundles with exactly one and fails with more ("multiple identities are not supported")`,
        fix: 'keep one matchOIDCIdentity entry (widen its regex with alternation if needed), or sign with the legacy .sig format',
      },
    ];
  },
};

export const identityRules: readonly OciRepositoryRule[] = [
  identityRegexInvalid,
  identityNotAllowed,
  identityTooComplex,
  identityMultipleEntries,
];

interface IndexedEntry {
  entry: OidcIdentity;
  index: number;
}

function keylessEntries(view: OciRepositoryView): IndexedEntry[] {
  if (!isKeylessCosign(view)) return [];
  return (view.verify?.identities ?? []).map((entry, index) => ({ entry, index }));
}

function syntaxProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return 'must be a string';
  const error = goRegexSyntaxError(pattern);
  return error ? `"${pattern}" is not a valid Go regexp: ${error}` : undefined;
}

/** Both containment rules read one decision per object, computed once under one time bound. */
const decided = new WeakMap<OciRepositoryView, IdentityVerdict[]>();

function containmentFindings(
  view: OciRepositoryView,
  context: RuleContext,
  wanted: IdentityVerdict['kind'],
): RuleFinding[] {
  let verdicts = decided.get(view);
  if (!verdicts) {
    verdicts = decideEntries(view, context);
    decided.set(view, verdicts);
  }
  return verdicts.filter((verdict) => verdict.kind === wanted).map((verdict) => verdict.finding);
}

function decideEntries(view: OciRepositoryView, context: RuleContext): IdentityVerdict[] {
  const settings = context.policy.spec.ociRepository;
  const allowed = settings.allowedIdentities;
  const decidedBy = context.policy.spec.decidedBy;
  const hints = {
    trustsKeys: settings.trustedKeys.length > 0,
    ruleLabel: decidedBy && decidedBy.source !== 'spec' ? `rule ${decidedBy.name}` : 'this policy',
  };
  const budget = startObjectBudget();
  return keylessEntries(view).flatMap(({ entry, index }) => {
    if (FIELDS.some((field) => syntaxProblem(entry[field]) !== undefined)) return [];
    return identityVerdicts(
      { issuer: entry.issuer as string, subject: entry.subject as string },
      allowed,
      index,
      budget,
      context.identities,
      hints,
    );
  });
}
