// helm for the chart tests: v4, built from its Go module (`go install helm.sh/helm/v4/cmd/helm@<version>`) into
// ~/.cache/pinwarden/helm/<version>/helm, reused when present. Cold: about 14 minutes on 2 shared cores with an
// empty Go build cache (the module download itself is small). Run directly it prints the binary's path.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HELM_VERSION = 'v4.3.2';
const HELM_MODULE = 'helm.sh/helm/v4';

export function helmPath(): string {
  return join(homedir(), '.cache', 'pinwarden', 'helm', HELM_VERSION, 'helm');
}

export function ensureHelm(): string {
  const target = helmPath();
  if (existsSync(target)) return target;
  const dir = join(homedir(), '.cache', 'pinwarden', 'helm', HELM_VERSION);
  const gobin = join(dir, 'gobin');
  rmSync(gobin, { recursive: true, force: true });
  mkdirSync(gobin, { recursive: true });
  console.log(`[helm-assets] go install ${HELM_MODULE}/cmd/helm@${HELM_VERSION} (cold: ~14 min)…`);
  const started = Date.now();
  execFileSync(
    'go',
    [
      'install',
      '-trimpath',
      `-ldflags=-s -w -X ${HELM_MODULE}/internal/version.version=${HELM_VERSION}`,
      `${HELM_MODULE}/cmd/helm@${HELM_VERSION}`,
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      timeout: 45 * 60_000,
    },
  );
  renameSync(join(gobin, 'helm'), target);
  rmSync(gobin, { recursive: true, force: true });
  console.log(`[helm-assets] built ${target} in ${Math.round((Date.now() - started) / 1000)} s`);
  return target;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(ensureHelm());
}
