/**
 * AdmissionReviews shaped exactly as kube-apiserver sends them (admission.k8s.io/v1: kind/resource GVKs,
 * requestKind, userInfo, options, dryRun, oldObject null on CREATE), Flux objects to put inside, and a
 * programmable PinResolver for webhook tests that need no registry.
 */
import { randomUUID } from 'node:crypto';
import { PinwardenError } from '../../src/core/errors.ts';
import type { PinTarget, Resolution } from '../../src/core/mutation/index.ts';
import type { PinResolver } from '../../src/flows/index.ts';

/** Admission JSON is read field by field in assertions; one loose type keeps those reads short. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Loose = any;

export const DIGEST_A = `sha256:${'a1'.repeat(32)}`;
export const DIGEST_B = `sha256:${'b2'.repeat(32)}`;

export interface ReviewOptions {
  operation?: 'CREATE' | 'UPDATE' | 'DELETE';
  oldObject?: unknown;
  dryRun?: boolean;
  uid?: string;
  /**
   * CreateOptions / UpdateOptions as the apiserver fills them. A PATCH (server-side apply included) reaches
   * admission as CREATE or UPDATE with these, never with PatchOptions (captured from kube-apiserver v1.37).
   */
  options?: Record<string, unknown>;
  subResource?: string;
}

export function admissionReview(
  object: Record<string, Loose> | null,
  review: ReviewOptions = {},
): Record<string, Loose> {
  const operation = review.operation ?? 'CREATE';
  const source = object ?? (review.oldObject as Record<string, Loose>);
  const [group, version] = String(source?.apiVersion ?? 'v1').includes('/')
    ? String(source.apiVersion).split('/')
    : ['', String(source?.apiVersion ?? 'v1')];
  const kind = String(source?.kind ?? 'Unknown');
  const resource = kind.toLowerCase().endsWith('y')
    ? `${kind.toLowerCase().slice(0, -1)}ies`
    : `${kind.toLowerCase()}s`;
  const gvk = { group, version, kind };
  const gvr = { group, version, resource };
  return {
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: review.uid ?? randomUUID(),
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      ...(review.subResource ? { subResource: review.subResource } : {}),
      name: source?.metadata?.name ?? '',
      namespace: source?.metadata?.namespace ?? 'default',
      operation,
      userInfo: {
        username: 'system:serviceaccount:flux-system:kustomize-controller',
        uid: '5c1e3a2b-6f0d-4d39-9a51-7f5c0e0f7d21',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:flux-system', 'system:authenticated'],
        extra: { 'authentication.kubernetes.io/pod-name': ['kustomize-controller-6f5b9c7d8-abcde'] },
      },
      object,
      oldObject: review.oldObject ?? null,
      dryRun: review.dryRun ?? false,
      // A dry run shows twice, as the real apiserver sends it: request.dryRun and options.dryRun ["All"].
      options:
        review.options ??
        (operation === 'DELETE'
          ? {
              kind: 'DeleteOptions',
              apiVersion: 'meta.k8s.io/v1',
              ...(review.dryRun === true ? { dryRun: ['All'] } : {}),
              propagationPolicy: 'Background',
            }
          : {
              kind: operation === 'UPDATE' ? 'UpdateOptions' : 'CreateOptions',
              apiVersion: 'meta.k8s.io/v1',
              ...(review.dryRun === true ? { dryRun: ['All'] } : {}),
              fieldManager: 'kubectl-client-side-apply',
              fieldValidation: 'Strict',
            }),
    },
  };
}

export function ociRepository(
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
  apiVersion = 'source.toolkit.fluxcd.io/v1',
): Record<string, Loose> {
  return {
    apiVersion,
    kind: 'OCIRepository',
    metadata: { name: 'podinfo', namespace: 'apps', ...metadata },
    spec: {
      interval: '5m',
      url: 'oci://ghcr.io/acme/podinfo',
      ref: { tag: '6.6.2' },
      verify: { provider: 'cosign', secretRef: { name: 'cosign-pub' } },
      ...spec,
    },
  };
}

/** The object as the apiserver hands it over after a server-side apply by kustomize-controller. */
export function serverSideApplied(object: Record<string, Loose>): Record<string, Loose> {
  return {
    ...object,
    metadata: {
      ...object.metadata,
      labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' },
      managedFields: [
        {
          manager: 'kustomize-controller',
          operation: 'Apply',
          apiVersion: object.apiVersion,
          time: '2026-03-01T10:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:metadata': { 'f:labels': { 'f:kustomize.toolkit.fluxcd.io/name': {} } },
            'f:spec': { 'f:interval': {}, 'f:ref': { 'f:tag': {} }, 'f:url': {} },
          },
        },
      ],
    },
  };
}

export interface FakePinResolver extends PinResolver {
  calls: PinTarget[];
}

/** Answers from `answer` (default: DIGEST_A for every tag), after `delayMs` or until the call's deadline. */
export function fakePinResolver(
  answer: (target: PinTarget) => Resolution = () => ({ ok: true, digest: DIGEST_A, tag: 'x' }),
  delayMs = 0,
): FakePinResolver {
  const calls: PinTarget[] = [];
  return {
    calls,
    async resolve(_object, target, _policy, call) {
      calls.push(target);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (call.signal.aborted)
        return { ok: false, error: new PinwardenError('PW_DEADLINE', 'fake registry: deadline exceeded') };
      const result = answer(target);
      return result.ok && target.source.kind === 'tag' ? { ...result, tag: target.source.tag } : result;
    },
    async repository() {
      throw new PinwardenError('PW_INTERNAL', 'the fake pin resolver has no repositories');
    },
    close() {},
  };
}

export function decodePatch(response: { patch?: string }): Array<{ op: string; path: string; value?: unknown }> {
  return response.patch === undefined ? [] : JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
}
