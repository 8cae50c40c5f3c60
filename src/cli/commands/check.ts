/**
 * `pinwarden check [PATH...|-]`: the offline dry run of /validate over manifests, for CI.
 * Exit 0 when nothing is denied (warn mode included), 1 when something is denied, 2 on a usage or input error.
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { PinwardenError } from '../../core/errors.ts';
import { evaluate } from '../../core/evaluate.ts';
import { expiredExceptions, loadExceptions, type ExceptionSet } from '../../core/exceptions/index.ts';
import { namespaceLabelsOf } from '../../core/scope/index.ts';
import { defaultPolicy, loadPolicy, type SourcePolicy } from '../../core/policy/index.ts';
import { VERSION } from '../../runtime/version.ts';
import type { CliIo } from '../io.ts';
import { readManifests, type ManifestObject } from '../input/read-manifests.ts';
import { formatJson } from '../output/json.ts';
import { reportFrom, type CheckReport } from '../output/report.ts';
import { formatSarif } from '../output/sarif.ts';
import { formatText } from '../output/text.ts';
import type { SetExit } from '../program.ts';
import { formatAdmitted, resolveAndCheck } from './check-resolve.ts';

interface CheckOptions {
  config?: string;
  output: 'text' | 'json' | 'sarif' | 'yaml';
  mode?: 'enforce' | 'warn';
  resolve?: boolean;
  exceptions?: string;
  at?: string;
}

export function registerCheck(program: Command, io: CliIo, setExit: SetExit): Command {
  return program
    .command('check')
    .description('Check Flux source manifests against the policy, offline (same rules as /validate).')
    .argument('[paths...]', 'files or directories (recursive *.yaml, *.yml, *.json); - reads stdin')
    .option('-c, --config <file>', 'SourcePolicy file (default: the built-in secure defaults)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'sarif', 'yaml']).default('text'))
    .addOption(new Option('--mode <mode>', 'override spec.mode of the policy').choices(['enforce', 'warn']))
    .option('--resolve', 'contact registries (local docker login), pin tags as /mutate would, validate as /validate; with -o yaml print the admitted objects')
    .option('--exceptions <file>', 'SourcePolicyException documents (YAML, --- separated) that waive rule ids for named objects; expired ones waive nothing and are reported')
    .option('--at <time>', 'judge exception expiry at this RFC 3339 time instead of now (what breaks when they expire?)')
    .action(async (paths: string[], options: CheckOptions) => {
      setExit(await runCheck(paths, options, io));
    });
}

export async function runCheck(paths: readonly string[], options: CheckOptions, io: CliIo): Promise<0 | 1 | 2> {
  if (paths.length === 0) {
    throw new PinwardenError('PW_INPUT_INVALID', 'no input: give files or directories to check, or - for stdin');
  }
  if (options.output === 'yaml' && options.resolve !== true) {
    throw new PinwardenError('PW_INPUT_INVALID', '--output yaml needs --resolve (it prints the objects as they would be admitted)');
  }
  const policy = await readPolicy(options.config, io.cwd);
  const now = clockOf(options.at);
  const exceptions = options.exceptions === undefined ? undefined : { exceptions: await readExceptions(options.exceptions, io.cwd), now };
  const manifests = await readManifests(paths, io.stdin, io.cwd);
  const resolved = options.resolve === true ? await resolveAndCheck(manifests.objects, policy, options.mode, io, exceptions) : undefined;
  const report = resolved?.report ?? buildReport(manifests.objects, policy, options.mode, exceptions);
  report.problems.push(...manifests.problems);
  if (exceptions) {
    report.expiredExceptions = expiredExceptions(exceptions);
    for (const lapsed of report.expiredExceptions) {
      io.stderr(`pinwarden: exception ${lapsed.exception} expired ${lapsed.expires} and waives nothing (reason was: ${lapsed.reason})\n`);
    }
  }
  for (const problem of report.problems) {
    io.stderr(`pinwarden: ${problem.file}${problem.line ? `:${problem.line}` : ''}: ${problem.message}\n`);
  }
  if (options.output === 'yaml') {
    // stdout stays a clean multi-document YAML stream; the verdicts go to stderr.
    io.stdout(formatAdmitted(resolved?.admitted ?? []));
    io.stderr(formatText({ ...report, problems: [] }, false));
  } else {
    io.stdout(render(report, options.output, io.isTty && !io.env.NO_COLOR));
  }
  if (report.problems.length > 0) return 2;
  return report.summary.denied > 0 ? 1 : 0;
}

export function buildReport(objects: readonly ManifestObject[], policy: SourcePolicy, mode?: 'enforce' | 'warn', exceptions?: ExceptionSet): CheckReport {
  // Namespace manifests in the input tell the rules with a namespaceSelector what they need.
  const namespaces = namespaceLabelsOf(objects.map((manifest) => manifest.object));
  return reportFrom(
    objects.map((manifest) => {
      const namespaceLabels = namespaces.get(namespaceOf(manifest.object) ?? '');
      const options = { phase: 'offline' as const, ...(mode ? { mode } : {}), ...(namespaceLabels ? { scope: { namespaceLabels } } : {}), ...(exceptions ? { exceptions } : {}) };
      return { manifest, evaluation: evaluate(manifest.object, policy, options) };
    }),
  );
}

function namespaceOf(object: unknown): string | undefined {
  const namespace = (object as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
  return typeof namespace === 'string' ? namespace : undefined;
}

function clockOf(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(at) ? Date.parse(at) : Number.NaN;
  if (Number.isNaN(time)) throw new PinwardenError('PW_INPUT_INVALID', `--at ${at}: not an RFC 3339 time such as 2027-01-31T00:00:00Z`);
  return new Date(time);
}

/** Exceptions are a few KiB each and at most 1024 documents; a larger file is a mistake, not input. */
const MAX_EXCEPTIONS_BYTES = 4 * 1024 * 1024;

async function readExceptions(file: string, cwd: string): Promise<ExceptionSet['exceptions']> {
  let text: string;
  try {
    const path = resolve(cwd, file);
    if ((await stat(path)).size > MAX_EXCEPTIONS_BYTES) throw new PinwardenError('PW_INPUT_INVALID', `--exceptions ${file}: larger than ${MAX_EXCEPTIONS_BYTES / 1024 / 1024} MiB`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof PinwardenError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new PinwardenError('PW_INPUT_INVALID', `--exceptions ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'unreadable'}`);
  }
  return loadExceptions(text, file);
}

async function readPolicy(file: string | undefined, cwd: string): Promise<SourcePolicy> {
  if (file === undefined) return defaultPolicy();
  let text: string;
  try {
    text = await readFile(resolve(cwd, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'unreadable';
    throw new PinwardenError('PW_INPUT_INVALID', `--config ${file}: ${why}`);
  }
  return loadPolicy(text, file);
}

function render(report: CheckReport, format: Exclude<CheckOptions['output'], 'yaml'>, useColour: boolean): string {
  switch (format) {
    case 'json':
      return formatJson(report);
    case 'sarif':
      return formatSarif(report, VERSION);
    case 'text':
      return formatText({ ...report, problems: [] }, useColour);
  }
}
