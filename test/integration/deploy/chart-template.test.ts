// The Helm chart rendered by the real helm v4: lint, the defaults and each major option, with assertions on
// webhook scoping and failure policies, RBAC narrowness, the Pod's securityContext and the policy ConfigMap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, parseDocument, type Scalar, type YAMLMap } from 'yaml';
import { REPO_ROOT } from '../../helpers/cli.ts';
import { loadPolicy } from '../../../src/core/policy/index.ts';
import { isPinwardenError } from '../../../src/core/errors.ts';
import { APISERVER_CIDR, CHART_DIR, baseValues, helm, kinds, only, parseObjects, template, withValues, type K8sObject } from './helm.ts';

const NS = 'pinwarden-system';
const FULL = 'pw-pinwarden';

interface Rule { apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[] }
interface Webhook {
  name: string;
  failurePolicy: string;
  timeoutSeconds: number;
  reinvocationPolicy?: string;
  sideEffects: string;
  admissionReviewVersions: string[];
  clientConfig: { service?: { name: string; namespace: string; path: string; port: number }; url?: string; caBundle?: string };
  rules: { apiGroups: string[]; apiVersions: string[]; operations: string[]; resources: string[]; scope: string }[];
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  matchConditions: { name: string; expression: string }[];
}
interface Container {
  args: string[];
  securityContext: Record<string, unknown>;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
}

const webhookOf = (obj: K8sObject): Webhook => {
  const hooks = obj.webhooks as Webhook[];
  assert.equal(hooks.length, 1);
  return hooks[0] as Webhook;
};
const podSpec = (objects: K8sObject[]): Record<string, unknown> =>
  ((only(objects, 'Deployment').spec as Record<string, unknown>).template as { spec: Record<string, unknown> }).spec;
const container = (objects: K8sObject[]): Container => (podSpec(objects).containers as Container[])[0] as Container;
const rulesOf = (obj: K8sObject): Rule[] => obj.rules as Rule[];
const rbac = (objects: K8sObject[]): K8sObject[] => objects.filter((obj) => obj.apiVersion.startsWith('rbac.authorization.k8s.io/'));
const allRules = (objects: K8sObject[]): Rule[] => rbac(objects).filter((obj) => obj.kind === 'Role' || obj.kind === 'ClusterRole').flatMap(rulesOf);
const grants = (rules: Rule[], group: string, resource: string, verb: string): boolean =>
  rules.some((rule) => (rule.apiGroups ?? []).includes(group) && (rule.resources ?? []).includes(resource) && (rule.verbs ?? []).includes(verb));

test('helm lint --strict passes on the chart', async () => {
  const result = await withValues(baseValues(), (flags) => helm(['lint', '--strict', CHART_DIR, ...flags]));
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

test('NetworkPolicy is on by default and refuses to render without the apiserver address', async () => {
  const result = await withValues({}, (flags) => helm(['template', 'pw', CHART_DIR, ...flags]));
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /networkPolicy\.webhook\.apiserverCIDRs/);
  assert.doesNotMatch(result.stderr, /goroutine|panic/);
});

test('values.schema.json rejects unknown keys and unsafe enum values with the field path', async () => {
  for (const [values, pattern] of [
    [{ replicas: 3 }, /additional properties 'replicas' not allowed/],
    [{ webhooks: { mutating: { failurePolicy: 'Maybe' } } }, /\/webhooks\/mutating\/failurePolicy/],
    [{ certificates: { mode: 'self' } }, /\/certificates\/mode/],
    [{ webhooks: { url: 'http://insecure.example' } }, /\/webhooks\/url/],
  ] as const) {
    const result = await withValues(baseValues(values), (flags) => helm(['template', 'pw', CHART_DIR, ...flags]));
    assert.notEqual(result.code, 0, JSON.stringify(values));
    assert.match(result.stderr, pattern);
  }
});

test('defaults: the objects, and nothing the options add', async () => {
  const objects = await template(baseValues());
  assert.deepEqual(kinds(objects), [
    `ClusterRole/${FULL}-registry-auth`,
    `ClusterRoleBinding/${FULL}-registry-auth`,
    `ConfigMap/${FULL}-policy@${NS}`,
    `Deployment/${FULL}@${NS}`,
    `MutatingWebhookConfiguration/${FULL}`,
    `NetworkPolicy/${FULL}@${NS}`,
    `PodDisruptionBudget/${FULL}@${NS}`,
    `Secret/${FULL}-tls@${NS}`,
    `Service/${FULL}@${NS}`,
    `ServiceAccount/${FULL}@${NS}`,
    `ValidatingWebhookConfiguration/${FULL}`,
  ]);
});

test('mutating webhook: fail-open, short timeout, reinvoked, ocirepositories v1+v1beta2 only, scoped', async () => {
  const objects = await template(baseValues());
  const hook = webhookOf(only(objects, 'MutatingWebhookConfiguration'));
  assert.equal(hook.failurePolicy, 'Ignore');
  assert.equal(hook.timeoutSeconds, 3);
  assert.equal(hook.reinvocationPolicy, 'IfNeeded');
  assert.equal(hook.sideEffects, 'None');
  assert.deepEqual(hook.admissionReviewVersions, ['v1']);
  assert.deepEqual(hook.rules, [{ apiGroups: ['source.toolkit.fluxcd.io'], apiVersions: ['v1', 'v1beta2'], operations: ['CREATE', 'UPDATE'], resources: ['ocirepositories'], scope: 'Namespaced' }]);
  assert.deepEqual(hook.clientConfig.service, { name: FULL, namespace: NS, path: '/mutate', port: 443 });
  assert.deepEqual(hook.namespaceSelector, { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [NS, 'kube-system'] }] });
  assert.ok(hook.matchConditions.some((condition) => condition.expression.includes('deletionTimestamp')));
});

test('validating webhook: fail-closed, 5 s, ocirepositories and buckets, scoped the same way', async () => {
  const objects = await template(baseValues());
  const hook = webhookOf(only(objects, 'ValidatingWebhookConfiguration'));
  assert.equal(hook.failurePolicy, 'Fail');
  assert.equal(hook.timeoutSeconds, 5);
  assert.equal(hook.sideEffects, 'None');
  assert.deepEqual(hook.admissionReviewVersions, ['v1']);
  assert.deepEqual(hook.rules, [{ apiGroups: ['source.toolkit.fluxcd.io'], apiVersions: ['v1', 'v1beta2'], operations: ['CREATE', 'UPDATE'], resources: ['ocirepositories', 'buckets'], scope: 'Namespaced' }]);
  assert.equal(hook.clientConfig.service?.path, '/validate');
  assert.deepEqual(hook.namespaceSelector.matchExpressions[0]?.values, [NS, 'kube-system']);
  assert.ok(hook.matchConditions.length >= 1);
});

test('webhook settings are configurable (extra excluded namespaces, matchConditions, timeouts)', async () => {
  const objects = await template(baseValues({
    webhooks: {
      excludeNamespaces: ['kube-system', 'flux-system'],
      matchConditions: [{ name: 'not-a-bot', expression: "request.userInfo.username != 'bot'" }],
      mutating: { timeoutSeconds: 2 },
      validating: { failurePolicy: 'Ignore', resources: ['ocirepositories'] },
    },
  }), 'guard');
  const mutating = webhookOf(only(objects, 'MutatingWebhookConfiguration'));
  const validating = webhookOf(only(objects, 'ValidatingWebhookConfiguration'));
  assert.equal(mutating.timeoutSeconds, 2);
  assert.equal(validating.failurePolicy, 'Ignore');
  assert.deepEqual(validating.rules[0]?.resources, ['ocirepositories']);
  assert.deepEqual(validating.namespaceSelector.matchExpressions[0]?.values, ['guard', 'kube-system', 'flux-system']);
  assert.deepEqual(mutating.matchConditions.map((condition) => condition.name), ['not-being-deleted', 'not-a-bot']);
});

test('generated certificates: the caBundle is the CA that signed a serving certificate for the Service name', async () => {
  const objects = await template(baseValues());
  const secret = only(objects, 'Secret');
  assert.equal(secret.type, 'kubernetes.io/tls');
  const data = secret.data as Record<string, string>;
  const ca = new X509Certificate(Buffer.from(data['ca.crt'] ?? '', 'base64'));
  const cert = new X509Certificate(Buffer.from(data['tls.crt'] ?? '', 'base64'));
  assert.ok(ca.ca);
  assert.ok(cert.verify(ca.publicKey), 'serving certificate signed by the CA');
  assert.equal(cert.checkHost(`${FULL}.${NS}.svc`), `${FULL}.${NS}.svc`);
  assert.match(Buffer.from(data['tls.key'] ?? '', 'base64').toString(), /PRIVATE KEY/);
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    assert.equal(webhookOf(only(objects, kind)).clientConfig.caBundle, data['ca.crt']);
  }
});

test('webhooks.url: both webhooks call the URL, and extraIPs land in the certificate', async () => {
  const objects = await template(baseValues({ webhooks: { url: 'https://127.0.0.1:9443/' }, certificates: { generate: { extraIPs: ['127.0.0.1'] } } }));
  const mutating = webhookOf(only(objects, 'MutatingWebhookConfiguration'));
  const validating = webhookOf(only(objects, 'ValidatingWebhookConfiguration'));
  assert.equal(mutating.clientConfig.url, 'https://127.0.0.1:9443/mutate');
  assert.equal(validating.clientConfig.url, 'https://127.0.0.1:9443/validate');
  assert.equal(mutating.clientConfig.service, undefined);
  const cert = new X509Certificate(Buffer.from((only(objects, 'Secret').data as Record<string, string>)['tls.crt'] ?? '', 'base64'));
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
});

test('cert-manager mode: Issuer and Certificate, CA injected by annotation, no chart-made Secret', async () => {
  const objects = await template(baseValues({ certificates: { mode: 'cert-manager' } }));
  assert.equal(objects.filter((obj) => obj.kind === 'Secret').length, 0);
  const issuer = only(objects, 'Issuer');
  assert.deepEqual(issuer.spec, { selfSigned: {} });
  const certificate = only(objects, 'Certificate');
  const spec = certificate.spec as { secretName: string; dnsNames: string[]; issuerRef: { kind: string; name: string } };
  assert.equal(spec.secretName, `${FULL}-tls`);
  assert.ok(spec.dnsNames.includes(`${FULL}.${NS}.svc`));
  assert.deepEqual(spec.issuerRef, { kind: 'Issuer', name: issuer.metadata.name });
  for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
    const obj = only(objects, kind);
    assert.equal(obj.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NS}/${FULL}`);
    assert.equal(webhookOf(obj).clientConfig.caBundle, undefined);
  }
  const external = await template(baseValues({ certificates: { mode: 'cert-manager', certManager: { issuerRef: { kind: 'ClusterIssuer', name: 'corp-ca' } } } }));
  assert.equal(external.filter((obj) => obj.kind === 'Issuer').length, 0);
  assert.deepEqual((only(external, 'Certificate').spec as { issuerRef: unknown }).issuerRef, { kind: 'ClusterIssuer', name: 'corp-ca' });
});

test('Deployment: 2 replicas, PDB, spread, locked-down securityContext, limits, probes, policy mounted whole', async () => {
  const objects = await template(baseValues());
  const deployment = only(objects, 'Deployment');
  assert.equal((deployment.spec as { replicas: number }).replicas, 2);
  assert.deepEqual((only(objects, 'PodDisruptionBudget').spec as { minAvailable: number }).minAvailable, 1);
  const pod = podSpec(objects);
  assert.equal((pod.topologySpreadConstraints as { topologyKey: string }[])[0]?.topologyKey, 'kubernetes.io/hostname');
  assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } });
  const main = container(objects);
  assert.deepEqual(main.securityContext, {
    allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532,
    capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.ok(main.resources.requests?.cpu && main.resources.requests.memory && main.resources.limits?.cpu && main.resources.limits.memory);
  assert.deepEqual(main.livenessProbe.httpGet, { path: '/healthz', port: 'metrics' });
  assert.deepEqual(main.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
  assert.equal(main.args[0], 'serve');
  assert.ok(main.args.includes('--config=/etc/pinwarden/policy/policy.yaml'));
  assert.ok(!main.args.includes('--controller'));
  assert.ok(!main.args.some((arg) => arg.startsWith('--client-ca-file')));
  const policyMount = main.volumeMounts.find((mount) => mount.name === 'policy');
  assert.equal(policyMount?.mountPath, '/etc/pinwarden/policy');
  assert.equal(policyMount.subPath, undefined, 'a subPath mount would never see ConfigMap edits');
  assert.ok(main.volumeMounts.every((mount) => mount.subPath === undefined));
  const tmp = (pod.volumes as { name: string; emptyDir?: { medium: string } }[]).find((volume) => volume.name === 'tmp');
  assert.equal(tmp?.emptyDir?.medium, 'Memory');
  // Editing the policy must not roll the Pods: no checksum annotation on the template.
  const annotations = ((deployment.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations) ?? {};
  assert.ok(!Object.keys(annotations).some((key) => key.includes('checksum')));
});

test('one replica: no PodDisruptionBudget (it would block every drain)', async () => {
  const objects = await template(baseValues({ replicaCount: 1 }));
  assert.equal(objects.filter((obj) => obj.kind === 'PodDisruptionBudget').length, 0);
});

test('clientCA: --client-ca-file from a mounted ConfigMap', async () => {
  const objects = await template(baseValues({ clientCA: { configMap: 'apiserver-client-ca' } }));
  const main = container(objects);
  assert.ok(main.args.includes('--client-ca-file=/etc/pinwarden/client-ca/ca.crt'));
  const volume = (podSpec(objects).volumes as { name: string; configMap?: { name: string } }[]).find((entry) => entry.name === 'client-ca');
  assert.equal(volume?.configMap?.name, 'apiserver-client-ca');
});

test('RBAC by default: get on Secrets and ServiceAccounts only; no wildcard, no write, no Lease', async () => {
  const objects = await template(baseValues());
  const rules = allRules(objects);
  assert.deepEqual(rules, [{ apiGroups: [''], resources: ['secrets', 'serviceaccounts'], verbs: ['get'] }]);
  const binding = only(objects, 'ClusterRoleBinding');
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: FULL, namespace: NS }]);
});

test('RBAC, registry auth off: no role at all, and no API token in the Pod', async () => {
  const objects = await template(baseValues({ registryAuth: { enabled: false } }));
  assert.deepEqual(rbac(objects), []);
  assert.equal(podSpec(objects).automountServiceAccountToken, false);
  assert.equal(podSpec(await template(baseValues())).automountServiceAccountToken, true);
  assert.equal(podSpec(await template(baseValues({ registryAuth: { enabled: false }, controller: { enabled: true } }))).automountServiceAccountToken, true);
});

test('RBAC, registry auth in named namespaces: Roles there, nothing cluster-wide', async () => {
  const objects = await template(baseValues({ registryAuth: { namespaces: ['team-a', 'team-b'] } }));
  assert.equal(objects.filter((obj) => obj.kind === 'ClusterRole' || obj.kind === 'ClusterRoleBinding').length, 0);
  const roles = objects.filter((obj) => obj.kind === 'Role');
  assert.deepEqual(roles.map((role) => role.metadata.namespace).sort(), ['team-a', 'team-b']);
  for (const role of roles) assert.deepEqual(rulesOf(role), [{ apiGroups: [''], resources: ['secrets', 'serviceaccounts'], verbs: ['get'] }]);
  assert.deepEqual(objects.filter((obj) => obj.kind === 'RoleBinding').map((binding) => binding.metadata.namespace).sort(), ['team-a', 'team-b']);
});

test('RBAC, controller on: sources, status, events, one Lease; applies nothing until granted', async () => {
  const objects = await template(baseValues({ controller: { enabled: true } }));
  assert.ok(container(objects).args.includes('--controller'));
  const role = only(objects, 'ClusterRole', `${FULL}-controller`);
  const rules = rulesOf(role);
  assert.ok(grants(rules, 'source.toolkit.fluxcd.io', 'ocirepositories', 'watch'));
  assert.ok(grants(rules, 'source.toolkit.fluxcd.io', 'ocirepositories/status', 'patch'));
  assert.ok(grants(rules, 'kustomize.toolkit.fluxcd.io', 'kustomizations', 'list'));
  assert.ok(grants(rules, 'kustomize.toolkit.fluxcd.io', 'kustomizations/status', 'update'));
  assert.ok(!grants(rules, 'source.toolkit.fluxcd.io', 'ocirepositories', 'update'), 'the controller does not rewrite specs');
  // pinwarden's finalizer is a metadata-only patch; deleting a Kustomization looks its ServiceAccount up.
  assert.ok(grants(rules, 'source.toolkit.fluxcd.io', 'ocirepositories', 'patch'));
  assert.ok(grants(rules, 'kustomize.toolkit.fluxcd.io', 'kustomizations', 'patch'));
  assert.ok(!grants(rules, 'kustomize.toolkit.fluxcd.io', 'kustomizations', 'update'));
  assert.ok(!grants(rules, 'kustomize.toolkit.fluxcd.io', 'kustomizations', 'delete'));
  assert.ok(grants(rules, '', 'serviceaccounts', 'get'));
  assert.ok(!grants(rules, '', 'serviceaccounts', 'list'));
  assert.ok(!grants(rules, '', 'configmaps', 'create'), 'nothing to apply by default');
  assert.ok(!grants(rules, '', 'secrets', 'get'), 'Secrets only through registryAuth');
  for (const rule of allRules(objects)) {
    assert.ok(!(rule.verbs ?? []).includes('*') && !(rule.resources ?? []).includes('*') && !(rule.apiGroups ?? []).includes('*'), JSON.stringify(rule));
  }
  const lease = only(objects, 'Role', `${FULL}-leader-election`);
  assert.equal(lease.metadata.namespace, NS);
  assert.deepEqual(rulesOf(lease), [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['pinwarden-controller'], verbs: ['get', 'update', 'patch'] },
  ]);
  const granted = await template(baseValues({ controller: { enabled: true, rbac: { applyRules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch'] }] } } }));
  assert.ok(grants(rulesOf(only(granted, 'ClusterRole', `${FULL}-controller`)), '', 'configmaps', 'create'));
  const off = await template(baseValues());
  assert.equal(off.filter((obj) => obj.metadata.name.includes('controller') || obj.metadata.name.includes('leader')).length, 0);
});

test('NetworkPolicy: webhook port only from the apiserver, metrics only from the monitoring namespace, egress open unless restricted', async () => {
  const objects = await template(baseValues());
  const spec = only(objects, 'NetworkPolicy').spec as { policyTypes: string[]; ingress: { ports: { port: number }[]; from: unknown[] }[]; egress?: unknown[] };
  assert.deepEqual(spec.policyTypes, ['Ingress']);
  assert.deepEqual(spec.ingress[0], { ports: [{ port: 8443, protocol: 'TCP' }], from: [{ ipBlock: { cidr: APISERVER_CIDR } }] });
  assert.deepEqual(spec.ingress[1], { ports: [{ port: 8080, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] });
  assert.equal(spec.ingress.length, 2);
  const restricted = await template(baseValues({ networkPolicy: { egress: { restrict: true, to: [{ to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443 }] }] } } }));
  const egress = only(restricted, 'NetworkPolicy').spec as { policyTypes: string[]; egress: unknown[] };
  assert.deepEqual(egress.policyTypes, ['Ingress', 'Egress']);
  assert.equal(egress.egress.length, 3);
  assert.deepEqual(egress.egress[2], { to: [{ ipBlock: { cidr: '203.0.113.0/24' } }], ports: [{ port: 443 }] });
  const disabled = await template({ networkPolicy: { enabled: false } });
  assert.equal(disabled.filter((obj) => obj.kind === 'NetworkPolicy').length, 0);
});

test('CRDs (off by default) and ServiceMonitor (off by default)', async () => {
  const defaults = await template(baseValues());
  assert.equal(defaults.filter((obj) => obj.kind === 'CustomResourceDefinition' || obj.kind === 'ServiceMonitor').length, 0);
  const objects = await template(baseValues({ crds: { install: true }, serviceMonitor: { enabled: true } }));
  const crds = objects.filter((obj) => obj.kind === 'CustomResourceDefinition');
  assert.deepEqual(crds.map((crd) => crd.metadata.name).sort(), ['buckets.source.toolkit.fluxcd.io', 'kustomizations.kustomize.toolkit.fluxcd.io', 'ocirepositories.source.toolkit.fluxcd.io']);
  for (const crd of crds) assert.equal(crd.metadata.annotations?.['helm.sh/resource-policy'], 'keep');
  const oci = (crds.find((crd) => crd.metadata.name.startsWith('ocirepositories'))?.spec as { versions: { name: string; storage: boolean }[] }).versions;
  assert.deepEqual(oci.map((version) => [version.name, version.storage]), [['v1', true], ['v1beta2', false]]);
  const monitor = only(objects, 'ServiceMonitor');
  assert.deepEqual((monitor.spec as { endpoints: { port: string; path: string }[] }).endpoints.map((endpoint) => [endpoint.port, endpoint.path]), [['metrics', '/metrics']]);
});

test('policy ConfigMap round-trips into a valid SourcePolicy through the project loader', async () => {
  const spec = {
    mode: 'warn',
    exemptNamespaces: ['flux-sandbox'],
    ociRepository: {
      allowedIdentities: [{ issuer: '^https://token\\.actions\\.githubusercontent\\.com$', subject: '^https://github\\.com/acme/[^/]+/\\.github/workflows/release\\.ya?ml@refs/tags/v' }],
      allowedRegistries: ['oci://ghcr.io/acme/'],
      pinning: 'follow',
    },
    registry: { timeoutSeconds: 1, allowNetworks: ['127.0.0.0/8', '::1/128'] },
  };
  const objects = await template(baseValues({ policy: { name: 'acme', spec } }));
  const text = (only(objects, 'ConfigMap').data as Record<string, string>)['policy.yaml'] ?? '';
  const policy = loadPolicy(text, 'policy.yaml');
  assert.equal(policy.metadata.name, 'acme');
  assert.equal(policy.spec.mode, 'warn');
  assert.deepEqual(policy.spec.exemptNamespaces, ['flux-sandbox']);
  assert.deepEqual(policy.spec.ociRepository.allowedIdentities, spec.ociRepository.allowedIdentities);
  assert.equal(policy.spec.ociRepository.pinning, 'follow');
  assert.deepEqual(policy.spec.registry.allowNetworks, ['127.0.0.0/8', '::1/128']);
  assert.equal(policy.spec.ociRepository.requireVerify, true, 'unset knobs keep their secure defaults');

  const defaults = loadPolicy((only(await template(baseValues()), 'ConfigMap').data as Record<string, string>)['policy.yaml'] ?? '', 'policy.yaml');
  assert.equal(defaults.spec.mode, 'enforce');

  // The chart passes the spec through verbatim: a policy pinwarden refuses is refused in the Pod, not silently fixed.
  const bad = await template(baseValues({ policy: { name: 'bad', spec: { ociRepository: { allowKeyBased: true } } } }));
  assert.throws(
    () => loadPolicy((only(bad, 'ConfigMap').data as Record<string, string>)['policy.yaml'] ?? '', 'policy.yaml'),
    (error: unknown) => isPinwardenError(error) && error.code === 'PW_POLICY_INVALID' && /trustedKeys/.test(error.message),
  );
});

test('NOTES.txt carries the recovery command', async () => {
  const result = await withValues(baseValues(), (flags) => helm(['install', 'pw', CHART_DIR, '--dry-run=client', '--namespace', NS, ...flags]));
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`kubectl delete validatingwebhookconfiguration ${FULL}`));
  assert.match(result.stdout, new RegExp(`kubectl delete mutatingwebhookconfiguration ${FULL}`));
});

/** The fenced sh blocks of README.md's "Install" section. */
function readmeInstallBlocks(): string[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Install\n');
  assert.ok(start >= 0, 'README has an Install section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

/** Splits a shell command line (quotes, backslash-newline continuations; no expansions but $APISERVER). */
function shellWords(command: string, env: Record<string, string>): string[] {
  const text = command.replace(/\\\n\s*/g, ' ').replace(/\$(\w+)/g, (_, name: string) => env[name] ?? '');
  const words: string[] = [];
  for (const match of text.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3] ?? '');
  return words;
}

test('README: the three install commands render with this chart, and its recovery commands match NOTES.txt', async () => {
  const blocks = readmeInstallBlocks();
  const threeCommands = blocks.find((block) => block.includes('helm install pinwarden'));
  assert.ok(threeCommands, 'a block with helm install');
  const install = threeCommands.slice(threeCommands.indexOf('helm install'));
  const words = shellWords(install.trim(), { APISERVER: '10.0.0.1' });
  assert.deepEqual(words.slice(0, 4), ['helm', 'install', 'pinwarden', 'deploy/helm/pinwarden']);
  const result = await helm(['template', ...words.slice(2)]);
  assert.equal(result.code, 0, result.stderr);
  const objects = parseObjects(result.stdout);
  const policy = loadPolicy((only(objects, 'ConfigMap').data as Record<string, string>)['policy.yaml'] ?? '', 'policy.yaml');
  assert.equal(policy.spec.mode, 'warn', 'the README installs in warn mode first');
  const peers = ((only(objects, 'NetworkPolicy').spec as { ingress: { from: unknown[] }[] }).ingress[0]?.from) ?? [];
  assert.deepEqual(peers, [{ ipBlock: { cidr: '10.0.0.1/32' } }]);
  const image = (((only(objects, 'Deployment').spec as Record<string, unknown>).template as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image);
  assert.equal(image, 'registry.example.com/pinwarden:0.1.0');

  const notes = await withValues(baseValues(), (flags) => helm(['install', 'pinwarden', CHART_DIR, '--dry-run=client', '--namespace', NS, ...flags]));
  const notesRecovery = notes.stdout.split('\n').map((line) => line.trim()).filter((line) => line.startsWith('kubectl delete'));
  const readmeRecovery = blocks.flatMap((block) => block.split('\n')).map((line) => line.trim()).filter((line) => line.startsWith('kubectl delete'));
  assert.equal(notesRecovery.length, 2);
  assert.deepEqual(readmeRecovery, notesRecovery);
});

test('values.yaml: every top-level field is documented by a comment', () => {
  const document = parseDocument(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8'));
  const undocumented: string[] = [];
  for (const pair of (document.contents as YAMLMap).items) {
    const key = pair.key as Scalar;
    const first = isMap(pair.value) ? (pair.value.items[0]?.key as Scalar | undefined) : undefined;
    const nested = isMap(pair.value) ? pair.value.commentBefore : undefined;
    if (!key.commentBefore && !first?.commentBefore && !nested && !(document.commentBefore && pair === (document.contents as YAMLMap).items[0])) undocumented.push(String(key.value));
  }
  assert.deepEqual(undocumented, []);
});

test('policy.source=cluster: serve --policy-source=cluster, no policy ConfigMap, read on the policy kinds and write only their status and Events', async () => {
  const objects = await template(baseValues({ policy: { source: 'cluster', name: 'default' }, registryAuth: { enabled: false } }));
  const args = container(objects).args;
  assert.ok(args.includes('--policy-source=cluster'));
  assert.ok(!args.some((arg) => arg.startsWith('--config')));
  assert.equal(objects.filter((obj) => obj.kind === 'ConfigMap' && obj.metadata.name === `${FULL}-policy`).length, 0);
  assert.ok(!container(objects).volumeMounts.some((mount) => mount.name === 'policy'));
  assert.equal(podSpec(objects).automountServiceAccountToken, true, 'the API token is needed to watch');
  const rules = rulesOf(only(objects, 'ClusterRole', `${FULL}-policy-source`));
  for (const verb of ['list', 'watch']) for (const resource of ['sourcepolicies', 'sourcepolicyexceptions']) assert.ok(grants(rules, 'pinwarden.dev', resource, verb), `${verb} ${resource}`);
  assert.ok(grants(rules, 'pinwarden.dev', 'sourcepolicies/status', 'patch'));
  assert.ok(!grants(rules, 'pinwarden.dev', 'sourcepolicies', 'patch'), 'pinwarden never edits a policy');
  assert.ok(grants(rules, '', 'events', 'create'));
  const file = await template(baseValues());
  assert.ok(container(file).args.includes('--config=/etc/pinwarden/policy/policy.yaml'));
  assert.equal(file.filter((obj) => obj.metadata.name.endsWith('-policy-source') || obj.metadata.name.endsWith('-audit')).length, 0);
});

test('audit.enabled: serve --audit-interval, list on the sources and write rights on policyreports only', async () => {
  const objects = await template(baseValues({ audit: { enabled: true, interval: '15m' } }));
  assert.ok(container(objects).args.includes('--audit-interval=15m'));
  const rules = rulesOf(only(objects, 'ClusterRole', `${FULL}-audit`));
  assert.ok(grants(rules, 'source.toolkit.fluxcd.io', 'ocirepositories', 'list'));
  assert.ok(grants(rules, 'source.toolkit.fluxcd.io', 'buckets', 'list'));
  assert.ok(!grants(rules, 'source.toolkit.fluxcd.io', 'ocirepositories', 'patch'), 'the audit changes no source');
  for (const verb of ['create', 'patch', 'delete', 'list']) assert.ok(grants(rules, 'wgpolicyk8s.io', 'policyreports', verb), verb);
  const refused = await withValues(baseValues({ audit: { enabled: true, interval: 'often' } }), (flags) => helm(['template', 'pw', CHART_DIR, ...flags]));
  assert.notEqual(refused.code, 0, 'the values schema refuses a non-duration');
});

/** The flag names (`--x`) of rendered args. */
const flagNames = (args: string[]): Set<string> => new Set(args.filter((arg) => arg.startsWith('--')).map((arg) => arg.split('=')[0] as string));

test('controller on: every controller flag of the CLI is rendered from its value (workers, shard, Lease, timings, store)', async () => {
  const objects = await template(baseValues({
    controller: { enabled: true, workers: 8, namespaces: ['team-a', 'team-b'], labelSelector: 'shard in (a,b)', leaderElection: { leaseName: 'shard-a' }, storage: { path: '/var/lib/pw/store', maxSizeMiB: 2048, sizeLimit: '3Gi', medium: 'Memory' } },
    leaderElection: { namespace: 'leases', leaseDuration: 30, renewDeadline: 20, retryPeriod: 4 },
  }));
  const args = container(objects).args;
  for (const arg of [
    '--controller', '--workers=8', '--namespaces=team-a,team-b', '--label-selector=shard in (a,b)', '--leader-election-id=shard-a',
    '--leader-election-namespace=leases', '--lease-duration=30', '--renew-deadline=20', '--retry-period=4',
    '--storage-dir=/var/lib/pw/store', '--storage-max-size=2048',
  ]) assert.ok(args.includes(arg), `${arg} in ${JSON.stringify(args)}`);
  assert.ok(!args.includes('--no-leader-elect'));
  // The store has a volume of its own, capped above --storage-max-size (the root filesystem is read-only).
  const mount = container(objects).volumeMounts.find((entry) => entry.name === 'artifacts');
  assert.equal(mount?.mountPath, '/var/lib/pw/store');
  assert.notEqual(mount.readOnly, true);
  const volume = (podSpec(objects).volumes as { name: string; emptyDir?: { sizeLimit: string; medium?: string } }[]).find((entry) => entry.name === 'artifacts');
  assert.deepEqual(volume?.emptyDir, { medium: 'Memory', sizeLimit: '3Gi' });
  // The Lease Role follows the Lease's name and namespace.
  const lease = only(objects, 'Role', `${FULL}-leader-election`);
  assert.equal(lease.metadata.namespace, 'leases');
  assert.deepEqual(rulesOf(lease)[1]?.resourceNames, ['shard-a']);
  assert.equal(only(objects, 'RoleBinding', `${FULL}-leader-election`).metadata.namespace, 'leases');

  // Defaults: the CLI's defaults, except the store, which lives on its own volume instead of the in-memory /tmp.
  const defaults = container(await template(baseValues({ controller: { enabled: true } }))).args;
  for (const arg of ['--workers=4', '--leader-election-id=pinwarden-controller', `--leader-election-namespace=${NS}`, '--lease-duration=15', '--renew-deadline=10', '--retry-period=2', '--storage-dir=/var/lib/pinwarden/artifacts', '--storage-max-size=1024'])
    assert.ok(defaults.includes(arg), arg);
  assert.ok(!defaults.some((arg) => arg.startsWith('--namespaces') || arg.startsWith('--label-selector')), 'cluster-wide, no shard by default');
  const none = await template(baseValues());
  assert.ok(!container(none).volumeMounts.some((entry) => entry.name === 'artifacts'), 'no store without the controller');
  assert.ok(!container(none).args.some((arg) => /^--(workers|storage|lease|leader|retry|renew)/.test(arg)));
});

test('every controller flag the CLI declares has a chart value (the chart cannot fall behind the CLI)', async () => {
  const { Command } = await import('commander');
  const { addControllerOptions } = await import('../../../src/cli/commands/controller.ts');
  const declared = addControllerOptions(new Command(), false).options.map((option) => option.long as string);
  const rendered = new Set([
    ...flagNames(container(await template(baseValues({ controller: { enabled: true, namespaces: ['a'], labelSelector: 'x=y', kustomization: { noCrossNamespaceRefs: true, defaultServiceAccount: 'tenant', remoteClusters: ['api.example.com:6443'], insecureKubeconfigExec: true, insecureKubeconfigTls: true } }, audit: { enabled: true } }))).args),
    ...flagNames(container(await template(baseValues({ replicaCount: 1, controller: { enabled: true }, leaderElection: { enabled: false } }))).args),
  ]);
  assert.ok(declared.length >= 10, JSON.stringify(declared));
  assert.deepEqual(declared.filter((flag) => !rendered.has(flag)), [], 'controller flags with no chart value');
  assert.ok(rendered.has('--audit-lease-name'));
});

test('leader election off (one replica): --no-leader-elect and no Lease Role; refused with more replicas', async () => {
  const objects = await template(baseValues({ replicaCount: 1, controller: { enabled: true }, audit: { enabled: true }, leaderElection: { enabled: false } }));
  const args = container(objects).args;
  assert.ok(args.includes('--no-leader-elect'));
  assert.ok(!args.some((arg) => arg.startsWith('--leader-election-namespace') || arg.startsWith('--lease-duration')));
  assert.equal(objects.filter((obj) => obj.metadata.name.endsWith('-leader-election')).length, 0);
  const refused = await withValues(baseValues({ controller: { enabled: true }, leaderElection: { enabled: false } }), (flags) => helm(['template', 'pw', CHART_DIR, ...flags]));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /leaderElection\.enabled=false with the controller or the audit needs replicaCount: 1/);
});

test('controller values the chart refuses: a store volume not above the cap, timings out of order, one Lease for two duties, a store under /tmp', async () => {
  for (const [values, pattern] of [
    [{ controller: { enabled: true, storage: { maxSizeMiB: 1024, sizeLimit: '1Gi' } } }, /controller\.storage\.sizeLimit \(1Gi\) must exceed controller\.storage\.maxSizeMiB \(1024Mi\)/],
    [{ controller: { enabled: true }, leaderElection: { leaseDuration: 10, renewDeadline: 10 } }, /leaseDuration \(10\) > renewDeadline \(10\) > retryPeriod \(2\) is required/],
    [{ controller: { enabled: true }, audit: { enabled: true, leaseName: 'pinwarden-controller' } }, /controller\.leaderElection\.leaseName and audit\.leaseName must differ/],
    [{ controller: { enabled: true, storage: { path: '/tmp/store' } } }, /\/controller\/storage\/path/],
    [{ controller: { enabled: true, workers: 65 } }, /\/controller\/workers/],
    [{ controller: { enabled: true, namespaces: ['Team_A'] } }, /\/controller\/namespaces\/0/],
  ] as const) {
    const result = await withValues(baseValues(values), (flags) => helm(['template', 'pw', CHART_DIR, ...flags]));
    assert.notEqual(result.code, 0, JSON.stringify(values));
    assert.match(result.stderr, pattern);
    assert.doesNotMatch(result.stderr, /goroutine|panic/);
  }
  const fits = await template(baseValues({ controller: { enabled: true, storage: { maxSizeMiB: 1023, sizeLimit: '1Gi' } } }));
  assert.ok(container(fits).args.includes('--storage-max-size=1023'));
});

test('audit on: --audit-lease-name, and the leader-election Role names its Lease (both Leases with the controller)', async () => {
  const objects = await template(baseValues({ audit: { enabled: true, leaseName: 'audit-lease' } }));
  const args = container(objects).args;
  assert.ok(args.includes('--audit-lease-name=audit-lease'));
  assert.ok(args.includes(`--leader-election-namespace=${NS}`));
  assert.ok(!args.includes('--controller'));
  assert.deepEqual(rulesOf(only(objects, 'Role', `${FULL}-leader-election`)), [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: ['audit-lease'], verbs: ['get', 'update', 'patch'] },
  ]);
  const both = await template(baseValues({ audit: { enabled: true }, controller: { enabled: true } }));
  assert.deepEqual(rulesOf(only(both, 'Role', `${FULL}-leader-election`))[1]?.resourceNames, ['pinwarden-controller', 'pinwarden-audit']);
});

test('controller.kustomization: dependency retry and the multi-tenancy lockdown; impersonation granted only when asked for', async () => {
  const objects = await template(baseValues({ controller: { enabled: true, kustomization: { requeueDependency: '1m', noCrossNamespaceRefs: true, defaultServiceAccount: 'tenant' } } }));
  const args = container(objects).args;
  for (const arg of ['--requeue-dependency=1m', '--no-cross-namespace-refs', '--default-service-account=tenant']) assert.ok(args.includes(arg), arg);
  const impersonate = (objs: K8sObject[]): boolean => grants(rulesOf(only(objs, 'ClusterRole', `${FULL}-controller`)), '', 'serviceaccounts', 'impersonate');
  assert.ok(impersonate(objects), 'a default ServiceAccount is impersonated: the right comes with it');
  const defaults = await template(baseValues({ controller: { enabled: true } }));
  assert.ok(container(defaults).args.includes('--requeue-dependency=30s'));
  assert.ok(!container(defaults).args.some((arg) => arg === '--no-cross-namespace-refs' || arg.startsWith('--default-service-account')));
  assert.equal(impersonate(defaults), false, 'no impersonation by default');
  assert.ok(impersonate(await template(baseValues({ controller: { enabled: true, rbac: { impersonate: true } } }))));
  const refused = await withValues(baseValues({ controller: { enabled: true, kustomization: { requeueDependency: 'soon' } } }), (flags) => helm(['template', 'pw', CHART_DIR, ...flags]));
  assert.match(refused.stderr, /\/controller\/kustomization\/requeueDependency/);
});

test('controller.kustomization.remoteClusters and the insecure kubeconfig switches: none by default, one flag per entry', async () => {
  const args = container(await template(baseValues({ controller: { enabled: true, kustomization: { remoteClusters: ['10.0.0.1:6443', 'api.example.com', '[fd00::1]:443'], insecureKubeconfigTls: true } } }))).args;
  for (const arg of ['--remote-cluster=10.0.0.1:6443', '--remote-cluster=api.example.com', '--remote-cluster=[fd00::1]:443', '--insecure-kubeconfig-tls'])
    assert.ok(args.includes(arg), arg);
  assert.ok(!args.includes('--insecure-kubeconfig-exec'));
  const defaults = container(await template(baseValues({ controller: { enabled: true } }))).args;
  assert.ok(!defaults.some((arg) => /^--(remote-cluster|insecure-kubeconfig)/.test(arg)), 'no remote cluster allowed by default');
  const refused = await withValues(baseValues({ controller: { enabled: true, kustomization: { remoteClusters: ['https://api.example.com/'] } } }), (flags) => helm(['template', 'pw', CHART_DIR, ...flags]));
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /remoteClusters/);
});
