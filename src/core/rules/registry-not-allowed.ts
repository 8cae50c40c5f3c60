import { urlHasAnyPrefix } from '../flux/oci-url.ts';
import type { OciRepositoryRule } from './rule.ts';

export const registryNotAllowed: OciRepositoryRule = {
  id: 'registry-not-allowed',
  kind: 'OCIRepository',
  severity: 'error',
  summary: 'spec.url must start with one of the allowed registry prefixes (matched on path boundaries).',
  check(view, { policy }) {
    const allowed = policy.spec.ociRepository.allowedRegistries;
    if (allowed.length === 0) return [];
    const url = view.url ?? '';
    if (url !== '' && urlHasAnyPrefix(url, allowed)) return [];
    return [
      {
        path: 'spec.url',
        message: `${url === '' ? 'spec.url is missing' : `"${url}" is outside the allowed registries`} (allowed: ${allowed.join(', ')})`,
        fix: 'pull from an allowed registry, or add its prefix to spec.ociRepository.allowedRegistries',
      },
    ];
  },
};
