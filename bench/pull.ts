/**
 * `npm run build && node bench/pull.ts [RUNS]` (issue #10 item 8): fetch + verify + extract of a ~200 KB Flux
 * artifact against `skopeo copy` of the same artifact to a `dir:` (fetch and write the blobs; no verification,
 * no extraction), against the same Debian `docker-registry`, alternating, median of RUNS (default 9) after one
 * warm-up each. Target: ≤ 1.5× skopeo. pinwarden is measured two ways:
 * - `pinwarden pull` as a child process (cold: Node start-up and module loading included), with, as context,
 *   `pinwarden pull --help` (start-up and loading the same modules, no work);
 * - `flows.pullArtifact` in this process with a kept registry connection owner (warm: what the controller pays
 *   per artifact), same verification (cosign bundle, test key) and extraction.
 * Context for the cold CLI: the same pull with NODE_DISABLE_COMPILE_CACHE=1 (a first run: no bytecode from a
 * previous run), and `node -e 0` (Node's own start-up, the floor of any Node CLI).
 * A/B of two builds in the same run: BENCH_PULL_COMPARE=/path/to/other/dist/main.js (e.g. a `git worktree` of an
 * older commit, built) adds that CLI's pull, alternating with this one, and reports its CPU median beside ours.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packArtifact, pushArtifact } from '../src/artifact/index.ts';
import { pullArtifact } from '../src/flows/index.ts';
import { HttpRepository, createRegistryConnections } from '../src/oci/index.ts';
import { startRegistry } from '../test/helpers/registry.ts';
import { pemOfPublicKey } from '../test/helpers/sigstore-fixtures.ts';
import { attachBundle, dsseBundle } from '../test/helpers/sigstore-fixtures-sign.ts';
import { median, round } from './stats.ts';

const RUNS = Number(process.argv[2] ?? 9);
const FILES = 30;
const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const COMPARE = process.env.BENCH_PULL_COMPARE;
const call = () => ({ signal: AbortSignal.timeout(60_000) });

const registry = await startRegistry({ mode: 'plain' });
const dir = mkdtempSync(join(tmpdir(), 'pinwarden-bench-pull-'));
try {
  // ~200 KB compressed: 30 YAML files of random hex values (about 2.5:1 under gzip).
  const source = join(dir, 'source');
  mkdirSync(join(source, 'apps'), { recursive: true });
  for (let index = 0; index < FILES; index++) {
    const values = Array.from({ length: 120 }, (_, line) => `  key${line}: "${randomBytes(48).toString('hex')}"`).join(
      '\n',
    );
    writeFileSync(
      join(source, 'apps', `cm-${index}.yaml`),
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${index}\ndata:\n${values}\n`,
    );
  }
  const repository = new HttpRepository(
    { registry: registry.host, host: registry.host, path: 'bench/app' },
    { insecure: true },
  );
  const artifact = await packArtifact({
    path: source,
    source: 'https://github.com/acme/app',
    revision: `main@sha1:${'a'.repeat(40)}`,
    reproducible: true,
  });
  const manifest = await pushArtifact(repository, artifact, 'v1', call());
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'cosign.pub'), pemOfPublicKey(keys.publicKey));
  await attachBundle(repository, manifest, dsseBundle(keys, manifest.digest));
  repository.close();
  console.log(
    `artifact: layer ${artifact.layer.descriptor.size} bytes compressed, ${FILES} files; ${RUNS} runs each, alternating`,
  );

  // CPU time of each child (user + system), from this process's cutime/cstime in /proc/self/stat (Linux; clock
  // ticks, so 10 ms steps at the usual 100 Hz): wall times on a loaded machine mostly measure the queue.
  const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const childCpuMs = (): number => {
    const fields = readFileSync('/proc/self/stat', 'utf8')
      .replace(/^.*\) /, '')
      .split(' ');
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / ticks;
  };
  const cpu: Record<string, number[]> = {};
  const timed = (command: string, args: string[], env: Record<string, string> = {}, label = command): number => {
    const cpuBefore = childCpuMs();
    const started = performance.now();
    const result = spawnSync(command, args, { encoding: 'utf8', cwd: dir, env: { ...process.env, ...env } });
    const elapsed = performance.now() - started;
    if (result.status !== 0)
      throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    (cpu[label] ??= []).push(childCpuMs() - cpuBefore);
    return elapsed;
  };
  let n = 0;
  const pinwarden = (env: Record<string, string> = {}, cli = CLI): number =>
    timed(
      process.execPath,
      [
        cli,
        'pull',
        `oci://${registry.host}/bench/app@${manifest.digest}`,
        '-o',
        join(dir, `pw-${n++}`),
        '--key',
        'cosign.pub',
        '--insecure',
      ],
      env,
      cli !== CLI ? 'pullCompare' : env.NODE_DISABLE_COMPILE_CACHE === undefined ? 'pull' : 'pullFirstRun',
    );
  const compare = (): number => (COMPARE === undefined ? 0 : pinwarden({}, COMPARE));
  const firstRun = (): number => pinwarden({ NODE_DISABLE_COMPILE_CACHE: '1' });
  const nodeStart = (): number => timed(process.execPath, ['-e', '0'], {}, 'nodeStart');
  const skopeo = (): number =>
    timed(
      'skopeo',
      [
        'copy',
        '--quiet',
        '--insecure-policy',
        '--src-tls-verify=false',
        `docker://${registry.host}/bench/app@${manifest.digest}`,
        `dir:${join(dir, `sk-${n++}`)}`,
      ],
      {},
      'skopeo',
    );
  const startup = (): number => timed(process.execPath, [CLI, 'pull', '--help'], {}, 'pullHelp');
  const connections = createRegistryConnections();
  const warmRepository = new HttpRepository(
    { registry: registry.host, host: registry.host, path: 'bench/app' },
    { insecure: true, connections },
  );
  const pem = pemOfPublicKey(keys.publicKey);
  const inProcess = async (): Promise<number> => {
    const started = performance.now();
    const pulled = await pullArtifact({
      repository: warmRepository,
      subject: manifest.digest,
      verification: {
        block: { provider: 'cosign', secretRef: { name: 'key' } },
        options: { secrets: async () => ({ 'cosign.pub': pem }) },
        checks: { bindingMode: 'warn' },
      },
      destination: join(dir, `ip-${n++}`),
      call: call(),
    });
    if (pulled.files !== FILES) throw new Error(`extracted ${pulled.files} files`);
    return performance.now() - started;
  };
  pinwarden();
  compare();
  skopeo();
  startup();
  firstRun();
  nodeStart();
  await inProcess();
  const samples = {
    pinwarden: [] as number[],
    skopeo: [] as number[],
    startup: [] as number[],
    firstRun: [] as number[],
    nodeStart: [] as number[],
    inProcess: [] as number[],
  };
  for (let run = 0; run < RUNS; run++) {
    samples.skopeo.push(skopeo());
    samples.pinwarden.push(pinwarden());
    compare();
    samples.startup.push(startup());
    samples.firstRun.push(firstRun());
    samples.nodeStart.push(nodeStart());
    samples.inProcess.push(await inProcess());
  }
  warmRepository.close();
  connections.close();
  const [pw, sk, st, ip] = [
    median(samples.pinwarden),
    median(samples.skopeo),
    median(samples.startup),
    median(samples.inProcess),
  ];
  console.log(
    JSON.stringify({
      layerBytes: artifact.layer.descriptor.size,
      skopeoCopyMs: round(sk, 0),
      pinwardenPullCliMs: round(pw, 0),
      cliRatio: round(pw / sk, 2),
      pullHelpStartupMs: round(st, 0),
      pullFirstRunMs: round(median(samples.firstRun), 0),
      nodeStartMs: round(median(samples.nodeStart), 0),
      pullArtifactInProcessMs: round(ip, 1),
      inProcessRatio: round(ip / sk, 2),
      target: '≤ 1.5',
      // Warm-up runs included: each command's CPU median over RUNS + 1 runs.
      childCpuMedianMs: Object.fromEntries(Object.entries(cpu).map(([label, values]) => [label, median(values)])),
      cliCpuRatio: round(median(cpu.pull ?? []) / median(cpu.skopeo ?? []), 2),
      ...(COMPARE === undefined
        ? {}
        : { compareCli: COMPARE, cpuRatioToCompare: round(median(cpu.pull ?? []) / median(cpu.pullCompare ?? []), 3) }),
    }),
  );
} finally {
  await registry.stop();
  rmSync(dir, { recursive: true, force: true });
}
