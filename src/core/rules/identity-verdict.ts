/**
 * Decides one matchOIDCIdentity entry against the policy's allowed identities: allowed when ONE allowed
 * identity contains both its issuer and its subject language. A denial names the closest candidate and a
 * concrete string the submitted regex accepts but that candidate does not.
 */
import { checkContainment, type ContainmentResult } from '../identity/index.ts';
import type { AllowedIdentity } from '../policy/index.ts';
import type { RuleFinding } from './rule.ts';

export interface IdentityEntry {
  issuer: string;
  subject: string;
}

export type IdentityVerdict = { kind: 'not-allowed' | 'too-complex'; finding: RuleFinding } | undefined;

const MEMO_LIMIT = 4096;
const memo = new Map<string, ContainmentResult>();

/** Containment is pure and patterns repeat across objects, so results are memoised (bounded). */
function contained(submitted: string, allowed: string): ContainmentResult {
  const key = `${submitted}\u0000${allowed}`;
  const cached = memo.get(key);
  if (cached) return cached;
  const result = checkContainment(submitted, allowed);
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  memo.set(key, result);
  return result;
}

interface Candidate {
  allowed: AllowedIdentity;
  issuer: ContainmentResult;
  subject: ContainmentResult;
}

export function identityVerdict(entry: IdentityEntry, allowed: readonly AllowedIdentity[], index: number): IdentityVerdict {
  const path = `spec.verify.matchOIDCIdentity[${index}]`;
  if (allowed.length === 0) {
    return { kind: 'not-allowed', finding: { path, message: 'this policy allows no keyless identity', fix: 'verify with a public key (secretRef), or ask for the identity to be added to spec.ociRepository.allowedIdentities' } };
  }
  const candidates: Candidate[] = allowed.map((identity) => ({
    allowed: identity,
    issuer: contained(entry.issuer, identity.issuer),
    subject: contained(entry.subject, identity.subject),
  }));
  if (candidates.some(({ issuer, subject }) => issuer.result === 'contained' && subject.result === 'contained')) return undefined;
  const complex = tooComplex(candidates, entry, path);
  if (complex) return complex;
  return { kind: 'not-allowed', finding: notAllowedFinding(closest(candidates), entry, path) };
}

function tooComplex(candidates: readonly Candidate[], entry: IdentityEntry, path: string): IdentityVerdict {
  for (const field of ['issuer', 'subject'] as const) {
    const hit = candidates.find((candidate) => candidate[field].result === 'too-complex');
    const result = hit?.[field];
    if (result?.result === 'too-complex') {
      return {
        kind: 'too-complex',
        finding: {
          path: `${path}.${field}`,
          message: `${field} "${entry[field]}" is too complex to prove inside the policy (${result.reason})`,
          fix: 'simplify the pattern: anchor it with ^…$ and avoid large counted repetitions of alternations',
        },
      };
    }
  }
  return undefined;
}

/** Prefer a candidate whose issuer already fits, so the message points at the subject that does not. */
function closest(candidates: readonly Candidate[]): Candidate {
  return candidates.find((candidate) => candidate.issuer.result === 'contained') ?? (candidates[0] as Candidate);
}

function notAllowedFinding(candidate: Candidate, entry: IdentityEntry, path: string): RuleFinding {
  const field = candidate.issuer.result === 'contained' ? 'subject' : 'issuer';
  const result = candidate[field];
  const example = result.result === 'not-contained' ? `, e.g. ${JSON.stringify(result.counterexample)},` : '';
  const policyPattern = candidate.allowed[field];
  return {
    path: `${path}.${field}`,
    message: `${field} "${entry[field]}" accepts strings${example} that the allowed ${field} "${policyPattern}" rejects (Flux matches unanchored)`,
    fix: `narrow the ${field} regex to fit "${policyPattern}": anchor it with ^…$ and escape dots as \\.`,
  };
}
