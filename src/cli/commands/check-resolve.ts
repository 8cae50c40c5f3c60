/**
 * The `--resolve` half of `check`: each object goes through the same admission flow as the webhook — pinned
 * as `/mutate` would pin it (registries contacted with the shared registry flags of `registry-options.ts`:
 * the local docker login, `--ca-file`, `--insecure`…), then validated in the admission phase — so a registry failure shows up as
 * `digest-required` with its cause. `--output yaml` prints the objects as they would be admitted.
 */
import { stringify } from 'yaml';
import { objectRefOf } from '../../core/flux/index.ts';
import type { ExceptionSet } from '../../core/exceptions/index.ts';
import type { SourcePolicy } from '../../core/policy/index.ts';
import { namespaceLabelsOf } from '../../core/scope/index.ts';
import { admitObject, createPinFailureLog, createPinResolver, localAccess } from '../../flows/index.ts';
import type { AdmitDeps } from '../../flows/index.ts';
import type { CliIo } from '../io.ts';
import type { ManifestObject } from '../input/read-manifests.ts';
import { readRegistrySettings } from '../registry-options.ts';
import { mapLimited } from '../../runtime/index.ts';
import type { RegistryFlags } from '../registry-options.ts';
import { reportFrom } from '../output/report.ts';
import type { CheckReport } from '../output/report.ts';

export interface ResolvedCheck {
  report: CheckReport;
  /** Every input object, mutated where the webhook would mutate it, in input order. */
  admitted: unknown[];
}

/** Objects are admitted a few at a time: identical lookups coalesce, and no registry sees a burst. */
const CONCURRENCY = 8;

export async function resolveAndCheck(
  objects: readonly ManifestObject[],
  policy: SourcePolicy,
  mode: 'enforce' | 'warn' | undefined,
  io: CliIo,
  exceptions?: ExceptionSet,
  flags: RegistryFlags = {},
): Promise<ResolvedCheck> {
  const effective = mode === undefined ? policy : { ...policy, spec: { ...policy.spec, mode } };
  const settings = await readRegistrySettings(flags, io);
  const access = localAccess(settings.dockerConfig?.document, {
    ...(settings.tls ? { tls: settings.tls } : {}),
    insecure: settings.insecure,
  });
  const pins = createPinResolver({ access, guardNetworks: false });
  const deps: AdmitDeps = { pins, failures: createPinFailureLog(), now: () => new Date() };
  try {
    const namespaces = namespaceLabelsOf(objects.map((manifest) => manifest.object));
    const outcomes = await mapLimited(objects, CONCURRENCY, async (manifest) => {
      const namespaceLabels = namespaces.get(objectRefOf(manifest.object).namespace ?? '');
      return admitObject(
        {
          object: manifest.object,
          ...(namespaceLabels ? { scope: { namespaceLabels } } : {}),
          ...(exceptions ? { exceptions } : {}),
        },
        effective,
        deps,
      );
    });
    const report = reportFrom(
      outcomes.map(({ result }, index) => ({
        manifest: objects[index] as ManifestObject,
        evaluation: result.evaluation,
      })),
      effective.spec.mode,
    );
    return { report, admitted: outcomes.map((outcome) => outcome.admitted) };
  } finally {
    pins.close();
  }
}

export function formatAdmitted(objects: readonly unknown[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}
