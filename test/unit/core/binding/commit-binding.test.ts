// Commit binding, pure: Flux's revision forms, repository URL spellings, every mismatch naming both sides,
// the modes (an object annotation only tightens), key-based and claim-less signatures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BindingCheck, CertificateClaims } from '../../../../src/core/binding/index.ts';
import {
  abbreviateCommits,
  bindingDecision,
  checkCommitBinding,
  effectiveBindingMode,
  normalizeSourceUrl,
  parseRevision,
  redactSourceUrl,
  refsAgree,
} from '../../../../src/core/binding/index.ts';

const SHA1 = '2222222222222222222222222222222222222222';
const OTHER = '1111111111111111111111111111111111111111';
const SHA256 = 'ab'.repeat(32);
const v2 = (label: string, n: number) => ({ oid: `1.3.6.1.4.1.57264.1.${n}`, label, generation: 'v2' as const });
function claims(values: CertificateClaims['values']): CertificateClaims {
  return {
    values,
    origins: {
      sourceRepositoryURI: v2('SourceRepositoryURI', 12),
      sourceRepositoryDigest: v2('SourceRepositoryDigest', 13),
      sourceRepositoryRef: v2('SourceRepositoryRef', 14),
    },
    problems: [],
  };
}
const GITHUB = claims({
  sourceRepositoryURI: 'https://github.com/acme/app',
  sourceRepositoryDigest: SHA1,
  sourceRepositoryRef: 'refs/heads/main',
});
const keyless = (c: CertificateClaims = GITHUB) => ({ mode: 'keyless' as const, claims: c });
const annotations = (revision?: string, source: string | undefined = 'https://github.com/acme/app') => ({
  ...(revision !== undefined ? { 'org.opencontainers.image.revision': revision } : {}),
  ...(source !== undefined ? { 'org.opencontainers.image.source': source } : {}),
});
const problemsOf = (check: BindingCheck): string[] => (check.bound ? [] : check.problems);

test('parseRevision: every Flux form, the hex compared case-insensitively', () => {
  assert.deepEqual(parseRevision(`main@sha1:${SHA1}`), { ok: true, ref: 'main', algorithm: 'sha1', hex: SHA1 });
  assert.deepEqual(parseRevision(`v1.2.3@sha1:${SHA1.toUpperCase()}`), {
    ok: true,
    ref: 'v1.2.3',
    algorithm: 'sha1',
    hex: SHA1,
  });
  assert.deepEqual(parseRevision(`sha1:${SHA1}`), { ok: true, algorithm: 'sha1', hex: SHA1 });
  assert.deepEqual(parseRevision(SHA1), { ok: true, algorithm: 'bare', hex: SHA1 });
  assert.deepEqual(parseRevision(`refs/heads/feature@x@sha256:${SHA256}`), {
    ok: true,
    ref: 'refs/heads/feature@x',
    algorithm: 'sha256',
    hex: SHA256,
  });
  assert.deepEqual(parseRevision(SHA256), { ok: true, algorithm: 'bare', hex: SHA256 });
});

test('parseRevision: short shas, wrong lengths, unknown formats and junk are refused with a reason', () => {
  const reason = (text: string) => {
    const parsed = parseRevision(text);
    assert.equal(parsed.ok, false, text);
    return parsed.ok ? '' : parsed.reason;
  };
  assert.match(reason('2222222'), /7-character commit id: a short sha does not name one commit/);
  assert.match(reason('main@sha1:2222222'), /7-character sha1 id, not a full 40-character/);
  assert.match(reason(`main@sha256:${SHA1}`), /40-character sha256 id, not a full 64-character/);
  assert.match(reason(`main@md5:${SHA1}`), /unknown object format 'md5'/);
  assert.match(reason('main'), /neither a commit id nor/);
  assert.match(reason(`@sha1:${SHA1}`), /empty ref/);
  assert.match(reason('main@sha1:zz'), /not hexadecimal/);
  assert.match(reason(''), /is empty/);
  assert.match(reason('a'.repeat(2000)), /longer than 1024/);
});

test('refsAgree: short names match a branch or a tag, full names must be equal', () => {
  assert.ok(refsAgree('main', 'refs/heads/main'));
  assert.ok(refsAgree('v1.0.0', 'refs/tags/v1.0.0'));
  assert.ok(refsAgree('refs/heads/main', 'refs/heads/main'));
  assert.ok(!refsAgree('main', 'refs/heads/dev'));
  assert.ok(!refsAgree('refs/heads/main', 'refs/tags/main'));
  assert.ok(!refsAgree('main', 'refs/pull/1/merge'));
});

test('normalizeSourceUrl: https, ssh, scp-like, git://, .git, host case, github/gitlab owner case', () => {
  const key = (text: string) => {
    const result = normalizeSourceUrl(text);
    assert.ok(result.ok, `${text}: ${result.ok ? '' : result.reason}`);
    return result.key;
  };
  const same = [
    'https://github.com/acme/app',
    'https://github.com/Acme/App.git',
    'ssh://git@github.com/acme/app.git',
    'git@github.com:acme/app.git',
    'git://github.com/acme/app.git',
    'https://GitHub.com/acme/app/',
    'https://github.com:443/acme/app',
    'ssh://git@github.com:22/acme/app',
  ];
  for (const text of same) assert.equal(key(text), 'github.com/acme/app', text);
  assert.equal(key('https://gitlab.com/Acme/Platform/Fleet.git'), 'gitlab.com/acme/platform/fleet');
  // Elsewhere the path keeps its case (a self-hosted forge may be case-sensitive); the host never does.
  assert.equal(key('https://Git.Example.com/Acme/App'), 'git.example.com/Acme/App');
  assert.equal(key('https://git.example.com:8443/acme/app'), 'git.example.com:8443/acme/app');
  for (const bad of [
    '',
    'github.com/acme/app',
    'ftp://github.com/acme/app',
    'https://github.com/',
    'https://github.com/acme/../app',
    'x'.repeat(3000),
  ]) {
    assert.equal(normalizeSourceUrl(bad).ok, false, bad);
  }
});

test('bound: sha1 and sha256 forms, ssh source, ref agreeing', () => {
  for (const revision of [`main@sha1:${SHA1}`, `sha1:${SHA1}`, SHA1, `refs/heads/main@sha1:${SHA1.toUpperCase()}`]) {
    assert.deepEqual(
      checkCommitBinding(annotations(revision, 'git@github.com:Acme/app.git'), keyless()),
      { bound: true, commit: SHA1, repository: 'https://github.com/acme/app', ref: 'refs/heads/main' },
      revision,
    );
  }
  const sha256 = claims({
    sourceRepositoryURI: 'https://gitlab.com/acme/fleet',
    sourceRepositoryDigest: SHA256,
    sourceRepositoryRef: 'refs/heads/main',
  });
  assert.equal(
    checkCommitBinding(annotations(`main@sha256:${SHA256}`, 'https://gitlab.com/acme/fleet.git'), keyless(sha256))
      .bound,
    true,
  );
});

test('other commit: the message names the annotation and the certificate commit and claim', () => {
  const check = checkCommitBinding(annotations(`main@sha1:${OTHER}`), keyless());
  assert.deepEqual(problemsOf(check), [
    `revision annotation "main@sha1:${OTHER}" but the signing workflow built ${SHA1} (certificate SourceRepositoryDigest)`,
  ]);
});

test('other repository and a fork under another owner: both URLs named', () => {
  const other = checkCommitBinding(annotations(`main@sha1:${SHA1}`, 'https://github.com/acme/other'), keyless());
  assert.deepEqual(problemsOf(other), [
    'source annotation "https://github.com/acme/other" but the signing workflow ran in https://github.com/acme/app (certificate SourceRepositoryURI)',
  ]);
  const fork = checkCommitBinding(
    annotations(`main@sha1:${SHA1}`, 'https://github.com/acme/app'),
    keyless(claims({ ...GITHUB.values, sourceRepositoryURI: 'https://github.com/evil/app' })),
  );
  assert.match(
    problemsOf(fork)[0]!,
    /source annotation "https:\/\/github\.com\/acme\/app" but the signing workflow ran in https:\/\/github\.com\/evil\/app/,
  );
});

test('ref disagreement: same commit, but the workflow ran on another branch', () => {
  const check = checkCommitBinding(annotations(`release@sha1:${SHA1}`), keyless());
  assert.deepEqual(problemsOf(check), [
    'revision annotation ref "release" but the signing workflow ran on refs/heads/main (certificate SourceRepositoryRef)',
  ]);
});

test('short sha, missing annotations: refused with the certificate side named', () => {
  assert.deepEqual(problemsOf(checkCommitBinding(annotations('main@sha1:2222222'), keyless())), [
    `revision annotation "main@sha1:2222222" has a 7-character sha1 id, not a full 40-character commit id, but the signing workflow built ${SHA1} (certificate SourceRepositoryDigest)`,
  ]);
  assert.deepEqual(problemsOf(checkCommitBinding({}, keyless())), [
    `the artifact has no org.opencontainers.image.revision annotation, but the signing workflow built ${SHA1} (certificate SourceRepositoryDigest)`,
    'the artifact has no org.opencontainers.image.source annotation, but the signing workflow ran in https://github.com/acme/app (certificate SourceRepositoryURI)',
  ]);
  assert.equal(problemsOf(checkCommitBinding(undefined, keyless())).length, 2);
});

test('v1 origin is named with its OID', () => {
  const v1 = {
    ...GITHUB,
    origins: {
      ...GITHUB.origins,
      sourceRepositoryDigest: { oid: '1.3.6.1.4.1.57264.1.3', label: 'GitHubWorkflowSHA', generation: 'v1' as const },
    },
  };
  assert.match(
    problemsOf(checkCommitBinding(annotations(OTHER), keyless(v1)))[0]!,
    /\(certificate GitHubWorkflowSHA, 1\.3\.6\.1\.4\.1\.57264\.1\.3\)$/,
  );
});

test('no claims: a keyless certificate from a person, and a key-based signature', () => {
  const person = checkCommitBinding(annotations(SHA1), keyless(claims({ issuer: 'https://accounts.google.com' })));
  assert.deepEqual(person, {
    bound: false,
    keyBased: false,
    problems: [
      'the signing certificate carries no SourceRepositoryDigest and SourceRepositoryURI: it was not issued to a CI workflow run, so nothing binds the artifact to a commit',
    ],
    briefs: ['certificate has no SourceRepositoryDigest and SourceRepositoryURI: not from a CI workflow'],
  });
  const key = checkCommitBinding(annotations(SHA1), { mode: 'key' });
  assert.equal(key.bound, false);
  assert.ok(!key.bound && key.keyBased);
});

test('modes: off accepts, warn warns, enforce refuses; key-based is silent in warn and explained in enforce', () => {
  const mismatch = checkCommitBinding(annotations(OTHER), keyless());
  const bound = checkCommitBinding(annotations(SHA1), keyless());
  const key = checkCommitBinding(annotations(SHA1), { mode: 'key' });
  assert.equal(bindingDecision('off', mismatch).action, 'accept');
  assert.equal(bindingDecision('enforce', bound).action, 'accept');
  const warn = bindingDecision('warn', mismatch);
  assert.equal(warn.action, 'warn');
  assert.match(
    warn.action === 'warn' ? warn.message : '',
    /^commit binding: revision annotation "1{40}" but the signing workflow built 2{40}/,
  );
  assert.equal(warn.action === 'warn' ? warn.brief : '', 'revision "111111111111…" but signer built 222222222222…');
  assert.equal(bindingDecision('enforce', mismatch).action, 'refuse');
  assert.equal(bindingDecision('warn', key).action, 'accept');
  const refused = bindingDecision('enforce', key);
  assert.match(
    refused.action === 'refuse' ? refused.message : '',
    /the signature is key-based: a public key carries no workflow claims.*\(commitBinding is enforce\)/,
  );
});

test('effectiveBindingMode: an annotation only tightens; junk is ignored with a note', () => {
  assert.deepEqual(effectiveBindingMode('warn', undefined), { mode: 'warn' });
  assert.deepEqual(effectiveBindingMode('warn', 'enforce'), { mode: 'enforce' });
  assert.deepEqual(effectiveBindingMode('off', ' warn '), { mode: 'warn' });
  assert.deepEqual(effectiveBindingMode('enforce', 'off'), {
    mode: 'enforce',
    note: "annotation pinwarden.dev/commit-binding: off cannot loosen the policy's enforce",
  });
  assert.match(
    effectiveBindingMode('warn', 'strict').note ?? '',
    /"strict" is not off, warn or enforce; the policy's warn applies/,
  );
  assert.equal(effectiveBindingMode('warn', 42).mode, 'warn');
});

test('abbreviateCommits keeps 12 hex of 40- and 64-character ids, nothing else', () => {
  assert.equal(
    abbreviateCommits(`built ${SHA1} and ${SHA256}, not 2222222`),
    'built 222222222222… and abababababab…, not 2222222',
  );
});

test('a hostile annotation is quoted and cut in the message', () => {
  const text = problemsOf(checkCommitBinding(annotations(`"\n${'x'.repeat(500)}`), keyless()))[0]!;
  assert.ok(!text.includes('\n') && text.length < 400, text);
});

test('a token in the source annotation URL never reaches the message; it still compares as its repository', () => {
  const token = 'ghs_0123456789abcdefSECRET';
  const bound = checkCommitBinding(
    annotations(SHA1, `https://x-access-token:${token}@github.com/acme/app.git`),
    keyless(),
  );
  assert.equal(bound.bound, true);
  const other = checkCommitBinding(annotations(SHA1, `https://${token}@github.com/acme/other`), keyless());
  const text = JSON.stringify(other);
  assert.ok(!text.includes(token), text);
  assert.match(problemsOf(other)[0]!, /^source annotation "https:\/\/\*\*\*@github\.com\/acme\/other" but/);
  assert.equal(redactSourceUrl('ssh://git@github.com/acme/app'), 'ssh://git@github.com/acme/app');
  assert.equal(redactSourceUrl('git@github.com:acme/app.git'), 'git@github.com:acme/app.git');
});
