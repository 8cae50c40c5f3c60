import { COMMIT_BINDING_ANNOTATION, effectiveBindingMode } from '../binding/index.ts';
import type { OciRepositoryRule } from './rule.ts';

/**
 * An object may tighten `ociRepository.commitBinding` with `pinwarden.dev/commit-binding: enforce`. Warns when the
 * annotation cannot do what it says: a value that is not a mode or would loosen the policy (ignored), or a policy
 * that never verifies at admission (nothing checks the binding then, so the tenant must not believe it is).
 */
export const commitBindingAnnotation: OciRepositoryRule = {
  id: 'commit-binding-annotation',
  kind: 'OCIRepository',
  severity: 'warning',
  summary:
    'The pinwarden.dev/commit-binding annotation must be a mode that tightens the policy, where pinwarden verifies.',
  check(view, { policy }) {
    if (view.commitBindingAnnotation === undefined) return [];
    const path = `metadata.annotations.${COMMIT_BINDING_ANNOTATION}`;
    const { mode, note } = effectiveBindingMode(policy.spec.ociRepository.commitBinding, view.commitBindingAnnotation);
    if (note) return [{ path, message: note, fix: `set ${COMMIT_BINDING_ANNOTATION}: enforce, or remove it` }];
    if (mode !== 'off' && !policy.spec.ociRepository.verifyAtAdmission) {
      return [
        {
          path,
          message: `commit binding ${mode} is asked for, but this policy does not verify signatures at admission (verifyAtAdmission: false), so nothing checks it here`,
          fix: 'have spec.ociRepository.verifyAtAdmission turned on in the SourcePolicy, or check in CI with pinwarden verify --commit-binding enforce',
        },
      ];
    }
    if (mode !== 'off' && !policy.spec.ociRepository.requireDigest && view.ref?.digest === undefined) {
      return [
        {
          path,
          message: `commit binding ${mode} is asked for, but this object is not pinned to a digest and the policy does not require one: only a pinned digest is verified`,
          fix: 'pin spec.ref.digest (or have spec.ociRepository.requireDigest turned on)',
        },
      ];
    }
    return [];
  },
};
