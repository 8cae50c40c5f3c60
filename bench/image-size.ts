/**
 * `node bench/image-size.ts`: the size of the image built from the Dockerfile (scripts/image-assets.ts, on the
 * stand-in Node 24 base) against its baseline, the base image plus the production node_modules it carries.
 * Sizes are the apparent bytes of each unpacked rootfs (`du -sb`), so compression does not blur the ratio.
 * Deploy issue target: ≤ 1.2×. Builds the images first when they are missing (minutes, cached afterwards).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { baseImageTag, buildahGlobalArgs, ensureAppImage } from '../scripts/image-assets.ts';

function buildah(args: string[]): string {
  return execFileSync('buildah', [...buildahGlobalArgs(), ...args], { encoding: 'utf8' }).trim();
}

function bytes(path: string): number {
  return Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
}

function measure<T>(image: string, use: (root: string) => T): T {
  const container = buildah(['from', '--pull-never', image]);
  try {
    return use(buildah(['mount', container]));
  } finally {
    buildah(['umount', container]);
    buildah(['rm', container]);
  }
}

const image = ensureAppImage();
const app = measure(image, (root) => ({ total: bytes(root), modules: bytes(join(root, 'app', 'node_modules')) }));
const base = measure(baseImageTag(), (root) => bytes(root));
const mib = (value: number): string => `${(value / 1024 / 1024).toFixed(1)} MiB`;
const ratio = app.total / (base + app.modules);
console.log(`image ${image}: ${mib(app.total)}`);
console.log(`baseline: base ${mib(base)} + production node_modules ${mib(app.modules)} = ${mib(base + app.modules)}`);
console.log(`ratio ${ratio.toFixed(3)}× (target ≤ 1.2×) ${ratio <= 1.2 ? 'ok' : 'OVER'}`);
process.exit(ratio <= 1.2 ? 0 : 1);
