/** Shared bits of the apply tests on the real control plane: a test CRD with a status subresource, namespaces, reading live objects. */
import type { ControlPlane } from '../../../support/control-plane.ts';
import type { Loose } from '../../../helpers/admission.ts';
import type { KubeObject } from '../../../../src/controller/apply/index.ts';

/** A namespaced test kind whose status the tests write themselves (kstatus reads its conditions). */
export const WIDGET_CRD: KubeObject = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.pinwarden.dev' },
  spec: {
    group: 'test.pinwarden.dev',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

let counter = 0;
export async function freshNamespace(cp: ControlPlane, prefix: string): Promise<string> {
  const name = `${prefix}-${process.pid % 10000}-${++counter}`;
  await cp.kubectlOk(['create', 'namespace', name]);
  return name;
}

export async function live(cp: ControlPlane, args: string[]): Promise<Loose> {
  const result = await cp.kubectl(['get', ...args, '-o', 'json', '--show-managed-fields']);
  return result.code === 0 ? JSON.parse(result.stdout) : undefined;
}

export function managers(object: Loose): string[] {
  return (object?.metadata?.managedFields ?? [])
    .map((entry: Loose) => `${entry.manager}/${entry.operation}${entry.subresource ? `/${entry.subresource}` : ''}`)
    .sort();
}

export function configMap(
  namespace: string | undefined,
  name: string,
  data: Record<string, string>,
  extra: { labels?: Record<string, string>; annotations?: Record<string, string>; immutable?: boolean } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      ...(namespace === undefined ? {} : { namespace }),
      ...(extra.labels ? { labels: extra.labels } : {}),
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    data,
    ...(extra.immutable === undefined ? {} : { immutable: extra.immutable }),
  };
}
