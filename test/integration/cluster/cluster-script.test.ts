// `npm run cluster -- --webhook` as people run it (issue #8 item 3): it prints KUBECONFIG, PATH and REGISTRY;
// the README walkthrough (an OCIRepository with a tag, applied with kubectl) comes back pinned; Ctrl-C (SIGINT)
// stops every process and removes the control plane's directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '../../helpers/cli.ts';
import { requireKubeAssets } from '../../support/control-plane.ts';
import { ociRepositoryObject } from '../../support/policies.ts';

test('npm run cluster -- --webhook: walkthrough pinned, then SIGINT stops it all', async () => {
  const assets = requireKubeAssets();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'cluster.ts'), '--webhook'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const printed: Record<string, string> = {};
    for await (const line of createInterface({ input: child.stdout })) {
      const match = /^(?:export )?(KUBECONFIG|REGISTRY|PATH)="?([^"\s]+)/.exec(line);
      if (match) printed[match[1]!] = match[2]!;
      if (printed.REGISTRY) break;
    }
    assert.ok(printed.KUBECONFIG && existsSync(printed.KUBECONFIG), stderr);
    assert.equal(printed.PATH, `${assets.dir}:$PATH`);
    assert.match(printed.REGISTRY!, /^127\.0\.0\.1:\d+$/);
    const manifest = ociRepositoryObject({
      name: 'app',
      url: `oci://${printed.REGISTRY}/acme/app`,
      ref: { tag: '1.0.0' },
      extraSpec: { certSecretRef: { name: 'registry-ca' } },
      verify: {
        provider: 'cosign',
        matchOIDCIdentity: [
          {
            issuer: '^https://token\\.actions\\.githubusercontent\\.com$',
            subject: '^https://github\\.com/acme/app/\\.github/workflows/release\\.yml@refs/tags/v',
          },
        ],
      },
    });
    const env = { ...process.env, KUBECONFIG: printed.KUBECONFIG, HOME: dirname(printed.KUBECONFIG) };
    const apply = spawnSync(assets.kubectl, ['apply', '-f', '-'], {
      input: JSON.stringify(manifest),
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(apply.status, 0, apply.stderr);
    const got = JSON.parse(
      spawnSync(assets.kubectl, ['get', 'ocirepository', 'app', '-o', 'json'], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      }).stdout,
    );
    const pushed = /pushed oci:\/\/\S+\/acme\/app:1\.0\.0 \((sha256:[0-9a-f]{64})\)/.exec(stderr)?.[1];
    assert.equal(got.spec.ref.digest, pushed, 'pinned to the digest the script pushed for 1.0.0');
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(existsSync(printed.KUBECONFIG), false, 'the control plane directory is gone');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
