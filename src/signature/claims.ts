/**
 * Reads the Fulcio extensions (1.3.6.1.4.1.57264.1.*) of a leaf certificate into `CertificateClaims`: the v2
 * OIDs (.8 and .9–.23) hold a DER UTF8String, the deprecated v1 OIDs (.1–.6, GitHub-only apart from the
 * issuer) hold the raw string. A v2 value wins over its v1 twin; when both are present and disagree, the claim
 * is dropped and the contradiction reported (a binding must not rest on it). Malformed, duplicated or unknown
 * extensions become `problems`, never an exception: claims are read only from a certificate that verified.
 */
import type { ASN1Obj } from '@sigstore/core';
import type { CertificateClaims, ClaimName, ClaimOrigin } from '../core/binding/index.ts';

const PREFIX = '1.3.6.1.4.1.57264.1.';
/** Above this a value is not a claim but an attack on our memory and messages. */
const MAX_CLAIM_BYTES = 4096;

interface Known {
  claim?: ClaimName;
  label: string;
  generation: 'v1' | 'v2';
  /** v1 GitHub repository is `owner/name`: the claim is `https://github.com/owner/name`. */
  transform?: (value: string) => string;
}

const KNOWN: ReadonlyMap<number, Known> = new Map<number, Known>([
  [1, { claim: 'issuer', label: 'Issuer', generation: 'v1' }],
  [2, { claim: 'buildTrigger', label: 'GitHubWorkflowTrigger', generation: 'v1' }],
  [3, { claim: 'sourceRepositoryDigest', label: 'GitHubWorkflowSHA', generation: 'v1' }],
  [4, { label: 'GitHubWorkflowName', generation: 'v1' }],
  [
    5,
    {
      claim: 'sourceRepositoryURI',
      label: 'GitHubWorkflowRepository',
      generation: 'v1',
      transform: (value) => `https://github.com/${value}`,
    },
  ],
  [6, { claim: 'sourceRepositoryRef', label: 'GitHubWorkflowRef', generation: 'v1' }],
  [7, { label: 'OtherName', generation: 'v2' }],
  [8, { claim: 'issuer', label: 'Issuer', generation: 'v2' }],
  [9, { claim: 'buildSignerURI', label: 'BuildSignerURI', generation: 'v2' }],
  [10, { claim: 'buildSignerDigest', label: 'BuildSignerDigest', generation: 'v2' }],
  [11, { claim: 'runnerEnvironment', label: 'RunnerEnvironment', generation: 'v2' }],
  [12, { claim: 'sourceRepositoryURI', label: 'SourceRepositoryURI', generation: 'v2' }],
  [13, { claim: 'sourceRepositoryDigest', label: 'SourceRepositoryDigest', generation: 'v2' }],
  [14, { claim: 'sourceRepositoryRef', label: 'SourceRepositoryRef', generation: 'v2' }],
  [15, { claim: 'sourceRepositoryIdentifier', label: 'SourceRepositoryIdentifier', generation: 'v2' }],
  [16, { claim: 'sourceRepositoryOwnerURI', label: 'SourceRepositoryOwnerURI', generation: 'v2' }],
  [17, { claim: 'sourceRepositoryOwnerIdentifier', label: 'SourceRepositoryOwnerIdentifier', generation: 'v2' }],
  [18, { claim: 'buildConfigURI', label: 'BuildConfigURI', generation: 'v2' }],
  [19, { claim: 'buildConfigDigest', label: 'BuildConfigDigest', generation: 'v2' }],
  [20, { claim: 'buildTrigger', label: 'BuildTrigger', generation: 'v2' }],
  [21, { claim: 'runInvocationURI', label: 'RunInvocationURI', generation: 'v2' }],
  [
    22,
    { claim: 'sourceRepositoryVisibilityAtSigning', label: 'SourceRepositoryVisibilityAtSigning', generation: 'v2' },
  ],
  [23, { claim: 'deploymentEnvironment', label: 'DeploymentEnvironment', generation: 'v2' }],
]);

/** v1 extensions that only GitHub Actions certificates carry: a v1 repository/sha/ref from another issuer is not read. */
const GITHUB_V1 = new Set([2, 3, 5, 6]);
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

interface Read {
  number: number;
  known: Known;
  value: string;
}

/** `extensions`: the leaf's extension SEQUENCE entries (`X509Certificate.extensions`). */
export function readClaims(extensions: readonly ASN1Obj[]): CertificateClaims {
  const problems: string[] = [];
  const seen = new Set<number>();
  const reads: Read[] = [];
  for (const extension of extensions) {
    const parsed = fulcioExtension(extension);
    if (!parsed) continue;
    const { number, bytes } = parsed;
    const oid = `${PREFIX}${number}`;
    if (seen.has(number)) {
      problems.push(`extension ${oid} appears more than once; ignored`);
      reads.splice(0, reads.length, ...reads.filter((read) => read.number !== number));
      continue;
    }
    seen.add(number);
    const known = KNOWN.get(number);
    if (!known) {
      problems.push(`extension ${oid} is not one this version of pinwarden knows; ignored`);
      continue;
    }
    if (!known.claim) continue;
    const value = known.generation === 'v2' ? derUtf8String(bytes) : rawString(bytes);
    if (typeof value !== 'string') {
      problems.push(`extension ${oid} (${known.label}) ${value.problem}; ignored`);
      continue;
    }
    reads.push({ number, known, value });
  }
  return collect(reads, problems);
}

function collect(reads: readonly Read[], problems: string[]): CertificateClaims {
  const values: Partial<Record<ClaimName, string>> = {};
  const origins: Partial<Record<ClaimName, ClaimOrigin>> = {};
  const byClaim = new Map<ClaimName, Read[]>();
  for (const read of reads) byClaim.set(read.known.claim!, [...(byClaim.get(read.known.claim!) ?? []), read]);
  const issuer = pick(byClaim.get('issuer') ?? [], problems);
  for (const [claim, candidates] of byClaim) {
    const usable = candidates.filter(
      (read) => read.known.generation === 'v2' || !GITHUB_V1.has(read.number) || issuer?.value === GITHUB_ISSUER,
    );
    const chosen = claim === 'issuer' ? issuer : pick(usable, problems);
    if (!chosen) continue;
    values[claim] = chosen.known.transform ? chosen.known.transform(chosen.value) : chosen.value;
    origins[claim] = {
      oid: `${PREFIX}${chosen.number}`,
      label: chosen.known.label,
      generation: chosen.known.generation,
    };
  }
  return { values, origins, problems };
}

/** v2 over v1; a v1 twin that says something else drops the claim. */
function pick(candidates: readonly Read[], problems: string[]): Read | undefined {
  const v2 = candidates.find((read) => read.known.generation === 'v2');
  const v1 = candidates.find((read) => read.known.generation === 'v1');
  if (!v2 || !v1) return v2 ?? v1;
  const v1Value = v1.known.transform ? v1.known.transform(v1.value) : v1.value;
  if (v1Value.toLowerCase() === v2.value.toLowerCase()) return v2;
  problems.push(
    `extensions ${PREFIX}${v1.number} (${v1.known.label}: ${JSON.stringify(v1.value)}) and ${PREFIX}${v2.number} (${v2.known.label}: ${JSON.stringify(v2.value)}) disagree; neither is used`,
  );
  return undefined;
}

function fulcioExtension(extension: ASN1Obj): { number: number; bytes: Buffer } | undefined {
  const [oidObj] = extension.subs;
  const valueObj = extension.subs[extension.subs.length - 1];
  if (!oidObj || !valueObj || extension.subs.length < 2) return undefined;
  let oid: string;
  try {
    oid = oidObj.toOID();
  } catch {
    return undefined;
  }
  if (!oid.startsWith(PREFIX)) return undefined;
  const number = Number(oid.slice(PREFIX.length));
  if (!Number.isSafeInteger(number) || String(number) !== oid.slice(PREFIX.length)) return undefined;
  return { number, bytes: valueObj.value };
}

type Decoded = string | { problem: string };

/** DER UTF8String (tag 0x0c), definite length, nothing after it. */
function derUtf8String(bytes: Buffer): Decoded {
  if (bytes.length < 2 || bytes[0] !== 0x0c) return { problem: 'is not a DER UTF8String' };
  const first = bytes[1]!;
  let length: number;
  let offset: number;
  if (first < 0x80) {
    length = first;
    offset = 2;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > 2 || bytes.length < 2 + count) return { problem: 'has a malformed DER length' };
    length = count === 1 ? bytes[2]! : (bytes[2]! << 8) | bytes[3]!;
    offset = 2 + count;
    if (length < 0x80 || (count === 2 && length < 0x100)) return { problem: 'has a non-minimal DER length' };
  }
  if (offset + length !== bytes.length) return { problem: 'has a DER length that does not match its content' };
  return text(bytes.subarray(offset));
}

function rawString(bytes: Buffer): Decoded {
  return text(bytes);
}

function text(bytes: Buffer): Decoded {
  if (bytes.length > MAX_CLAIM_BYTES) return { problem: `is longer than ${MAX_CLAIM_BYTES} bytes` };
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { problem: 'is not valid UTF-8' };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return { problem: 'contains control characters' };
  return decoded;
}
