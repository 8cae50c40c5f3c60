/**
 * Why `check` leaves an object out, so nothing is skipped silently. Flux source kinds and versions pinwarden
 * does not govern, and flux-operator objects that generate sources (ResourceSet, FluxInstance), are
 * `notable`: the report names each one. Everything else is simply not a Flux source.
 */
import { GOVERNED_KINDS, GOVERNED_VERSIONS, SOURCE_GROUP, asRecord, asString, objectRefOf } from './objects.ts';

export const OPERATOR_GROUP = 'fluxcd.controlplane.io';

export interface NotGoverned {
  reason: string;
  /** A source (or a generator of sources) the user may expect pinwarden to check. */
  notable: boolean;
}

export function notGovernedReason(object: unknown): NotGoverned {
  const { apiVersion, kind } = objectRefOf(object);
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === SOURCE_GROUP) return sourceReason(object, kind, version ?? '');
  if (group === OPERATOR_GROUP && kind === 'ResourceSet') {
    const generated = resourceSetSources(object);
    if (generated.length > 0) {
      return {
        notable: true,
        reason: `ResourceSet generates ${generated.join(' and ')} objects from templates that pinwarden cannot evaluate before flux-operator renders them; check the rendered objects (flux-operator build rset) or rely on the admission webhook`,
      };
    }
  }
  if (group === OPERATOR_GROUP && kind === 'FluxInstance') {
    const syncKind = asString(asRecord(asRecord(asRecord(object)?.spec)?.sync)?.kind);
    if (syncKind === 'OCIRepository' || syncKind === 'Bucket') {
      return {
        notable: true,
        reason: `FluxInstance creates its spec.sync ${syncKind} at reconcile time, so pinwarden cannot check it here; the admission webhook guards it in the cluster`,
      };
    }
  }
  if (kind === '') return { notable: false, reason: 'no kind: not a Kubernetes object' };
  return { notable: false, reason: 'not a Flux source' };
}

function sourceReason(object: unknown, kind: string, version: string): NotGoverned {
  if ((GOVERNED_KINDS as readonly string[]).includes(kind)) {
    return {
      notable: true,
      reason: `${kind} ${SOURCE_GROUP}/${version} is not governed (pinwarden checks ${GOVERNED_VERSIONS.join(' and ')}); move it to ${SOURCE_GROUP}/v1`,
    };
  }
  if (kind === 'HelmRepository') {
    const type = asString(asRecord(asRecord(object)?.spec)?.type);
    if (type === 'oci') {
      return {
        notable: true,
        reason:
          'HelmRepository of type oci is not governed (no digest pinning or signature policy); use an OCIRepository with spec.layerSelector and a HelmRelease chartRef',
      };
    }
    return { notable: true, reason: 'HelmRepository (HTTP chart index) is not a source pinwarden governs' };
  }
  if (kind === 'GitRepository')
    return {
      notable: true,
      reason: 'GitRepository is not a source pinwarden governs (it checks OCIRepository and Bucket)',
    };
  return {
    notable: true,
    reason: `${kind || 'this kind'} is not a source pinwarden governs (it checks OCIRepository and Bucket)`,
  };
}

/** Source kinds a ResourceSet's resources or resourcesTemplate create. */
function resourceSetSources(object: unknown): string[] {
  const spec = asRecord(asRecord(object)?.spec) ?? {};
  const found = new Set<string>();
  const resources = Array.isArray(spec.resources) ? spec.resources : [];
  for (const resource of resources) {
    const kind = asString(asRecord(resource)?.kind);
    if (kind === 'OCIRepository' || kind === 'Bucket') found.add(kind);
  }
  // The template is Go-templated YAML: look for `kind: OCIRepository` lines without parsing it (no regex).
  for (const line of (asString(spec.resourcesTemplate) ?? '').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim().replace(/^- */, '') !== 'kind') continue;
    const value = line
      .slice(colon + 1)
      .trim()
      .replace(/^["']|["']$/g, '');
    if (value === 'OCIRepository' || value === 'Bucket') found.add(value);
  }
  return [...found];
}
