/**
 * `pinwarden check [PATH...|-]`: the offline dry run of /validate over manifests, for CI.
 * Exit 0 when nothing is denied (warn mode included), 1 when something is denied, 2 on a usage or input error.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { PinwardenError, exitCodeFor } from '../../core/errors.ts';
import { evaluate } from '../../core/evaluate.ts';
import { expiredExceptions, loadExceptions, type ExceptionSet } from '../../core/exceptions/index.ts';
import { namespaceLabelsOf, needsNamespaceLabels, type Labels } from '../../core/scope/index.ts';
import type { SourcePolicy } from '../../core/policy/index.ts';
import { VERSION, readInputFile, readPolicy } from '../../runtime/index.ts';
import type { CliIo } from '../io.ts';
import { addRegistryOptions, registryFlagsGiven } from '../registry-options.ts';
import type { RegistryFlags } from '../registry-options.ts';
import { readManifests, streamManifests, type InputProblem, type ManifestObject } from '../input/read-manifests.ts';
import { OriginLocator } from '../input/origin.ts';
import { emptySelectionLog, type SelectionLog } from '../input/select-files.ts';
import { formatJson } from '../output/json.ts';
import { ReportBuilder, reportFrom, type CheckReport } from '../output/report.ts';
import { formatSarif } from '../output/sarif.ts';
import { formatText } from '../output/text.ts';
import type { SetExit } from '../command.ts';
import type { ResolvedCheck } from './check-resolve.ts';

interface CheckOptions extends RegistryFlags {
  config?: string;
  output: 'text' | 'json' | 'sarif' | 'yaml';
  mode?: 'enforce' | 'warn';
  resolve?: boolean;
  exclude?: string[];
  allowEmpty?: boolean;
  originRoot?: string;
  exceptions?: string;
  at?: string;
}

export function registerCheck(program: Command, io: CliIo, setExit: SetExit): Command {
  const command = program
    .command('check')
    .description('Check Flux source manifests against the policy, offline (same rules as /validate).')
    .argument('[paths...]', 'files or directories (recursive *.yaml, *.yml, *.json); - reads stdin')
    .option('-c, --config <file>', 'SourcePolicy file (default: the built-in secure defaults)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'sarif', 'yaml']).default('text'),
    )
    .addOption(new Option('--mode <mode>', 'override spec.mode of the policy').choices(['enforce', 'warn']))
    .option(
      '--resolve',
      'contact registries (local docker login), pin tags as /mutate would, validate as /validate; with -o yaml print the admitted objects',
    )
    .option(
      '--exclude <glob>',
      'leave out matching paths (.gitignore syntax, relative to each directory given; repeatable); a .pinwardenignore at that root is read too',
      collect,
    )
    .option(
      '--allow-empty',
      'exit 0 when no document was read (default: exit 2, so a failed `kustomize build |` cannot pass)',
    )
    .option(
      '--origin-root <dir>',
      'directory the kustomize origin annotations are relative to (the kustomization you built; default: the working directory)',
    )
    .option(
      '--exceptions <file>',
      'SourcePolicyException documents (YAML, --- separated) that waive rule ids for named objects; expired ones waive nothing and are reported',
    )
    .option(
      '--at <time>',
      'judge exception expiry at this RFC 3339 time instead of now (what breaks when they expire?)',
    );
  // The registry flags apply with --resolve (its deadline is the policy's registry.timeoutSeconds).
  return addRegistryOptions(command, { timeout: false }).action(async (paths: string[], options: CheckOptions) => {
    setExit(await runCheck(paths, options, io));
  });
}

export async function runCheck(paths: readonly string[], options: CheckOptions, io: CliIo): Promise<0 | 1 | 2> {
  if (paths.length === 0) {
    throw new PinwardenError('PW_INPUT_INVALID', 'no input: give files or directories to check, or - for stdin');
  }
  if (options.output === 'yaml' && options.resolve !== true) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      '--output yaml needs --resolve (it prints the objects as they would be admitted)',
    );
  }
  const registryFlags = registryFlagsGiven(options);
  if (registryFlags.length > 0 && options.resolve !== true) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${registryFlags.join(', ')} ${registryFlags.length === 1 ? 'applies' : 'apply'} only with --resolve (registries are contacted only then)`,
    );
  }
  const policy = await readPolicy(options.config, io.cwd);
  const locator = new OriginLocator(resolve(io.cwd, options.originRoot ?? '.'), io.cwd);
  const readOptions = { exclude: options.exclude ?? [] };
  const exceptions =
    options.exceptions === undefined
      ? undefined
      : { exceptions: await readExceptions(options.exceptions, io.cwd), now: clockOf(options.at) };
  let resolved: ResolvedCheck | undefined;
  let report: CheckReport;
  let documents: number;
  if (options.resolve === true) {
    // --resolve admits objects concurrently and may print them all (-o yaml): it reads everything first.
    // Imported here: the admission flow (registries, Sigstore) is loaded only when it is used.
    const { resolveAndCheck } = await import('./check-resolve.ts');
    const manifests = await readManifests(paths, io.stdin, io.cwd, readOptions);
    const located = await Promise.all(manifests.objects.map((manifest) => locator.locate(manifest)));
    resolved = await resolveAndCheck(located, policy, options.mode, io, exceptions, options);
    report = {
      ...resolved.report,
      problems: manifests.problems,
      emptyFiles: manifests.emptyFiles,
      notes: selectionNotes(manifests.selection, locator),
    };
    documents = manifests.documents;
  } else {
    ({ report, documents } = await streamCheck(paths, policy, options, io, locator, readOptions, exceptions));
  }
  if (exceptions) {
    report.expiredExceptions = expiredExceptions(exceptions);
    for (const lapsed of report.expiredExceptions) {
      io.stderr(
        `pinwarden: exception ${lapsed.exception} expired ${lapsed.expires} and waives nothing (reason was: ${lapsed.reason})\n`,
      );
    }
  }
  if (documents === 0 && report.problems.length === 0 && options.allowEmpty !== true) {
    throw new PinwardenError(
      'PW_INPUT_EMPTY',
      `no documents read from ${describeInputs(paths)}: nothing was checked (a failed command before a pipe, an empty file, everything excluded?); pass --allow-empty if that is expected`,
    );
  }
  for (const problem of report.problems) {
    io.stderr(`pinwarden: ${problem.file}${problem.line ? `:${problem.line}` : ''}: ${problem.message}\n`);
  }
  if (options.output === 'yaml') {
    // stdout stays a clean multi-document YAML stream; the verdicts go to stderr.
    const { formatAdmitted } = await import('./check-resolve.ts');
    io.stdout(formatAdmitted(resolved?.admitted ?? []));
    io.stderr(formatText({ ...report, problems: [] }, false));
  } else {
    io.stdout(render(report, options.output, io.isTty && !io.env.NO_COLOR));
  }
  // An input problem ends the run as PW_INPUT_INVALID would; a denial is a violation (1).
  if (report.problems.length > 0) return exitCodeFor('PW_INPUT_INVALID');
  return report.summary.denied > 0 ? 1 : 0;
}

export function buildReport(
  objects: readonly ManifestObject[],
  policy: SourcePolicy,
  mode?: 'enforce' | 'warn',
): CheckReport {
  return reportFrom(
    objects.map((manifest) => ({
      manifest,
      evaluation: evaluate(manifest.object, policy, { phase: 'offline', ...(mode ? { mode } : {}) }),
    })),
    mode ?? policy.spec.mode,
  );
}

/**
 * Reads, evaluates and forgets one file at a time: only results and findings stay in memory, so the peak
 * does not grow with the parsed size of the input (BENCHMARKS.md, `check` memory).
 */
async function streamCheck(
  paths: readonly string[],
  policy: SourcePolicy,
  options: CheckOptions,
  io: CliIo,
  locator: OriginLocator,
  readOptions: { exclude: string[] },
  exceptions?: ExceptionSet,
): Promise<{ report: CheckReport; documents: number }> {
  const selection = emptySelectionLog();
  const builder = new ReportBuilder(options.mode ?? policy.spec.mode);
  const problems: InputProblem[] = [];
  const emptyFiles: string[] = [];
  let documents = 0;
  const evaluateOptions = {
    phase: 'offline' as const,
    ...(options.mode ? { mode: options.mode } : {}),
    ...(exceptions ? { exceptions } : {}),
  };
  // Rules with a namespaceSelector need the labels of Namespace manifests, wherever they stand in the input:
  // files are read once more for them first (stdin cannot be; there, Namespaces must come first).
  const namespaces =
    needsNamespaceLabels(policy) && !paths.includes('-')
      ? await namespaceLabelsIn(paths, io, readOptions)
      : new Map<string, Labels>();
  for await (const source of streamManifests(paths, io.stdin, io.cwd, readOptions, selection)) {
    documents += source.documents;
    problems.push(...source.problems);
    if (source.documents === 0 && source.problems.length === 0) emptyFiles.push(source.file);
    for (const [name, labels] of namespaceLabelsOf(source.objects.map((manifest) => manifest.object)))
      if (!namespaces.has(name)) namespaces.set(name, labels);
    for (const manifest of source.objects) {
      const namespaceLabels = namespaces.get(namespaceOf(manifest.object) ?? '');
      builder.add(
        await locator.locate(manifest),
        evaluate(manifest.object, policy, {
          ...evaluateOptions,
          ...(namespaceLabels ? { scope: { namespaceLabels } } : {}),
        }),
      );
    }
  }
  problems.push(...selection.problems);
  return { report: builder.finish({ problems, emptyFiles, notes: selectionNotes(selection, locator) }), documents };
}

async function namespaceLabelsIn(
  paths: readonly string[],
  io: CliIo,
  readOptions: { exclude: string[] },
): Promise<Map<string, Labels>> {
  const found = new Map<string, Labels>();
  for await (const source of streamManifests(paths, io.stdin, io.cwd, readOptions, emptySelectionLog())) {
    for (const [name, labels] of namespaceLabelsOf(source.objects.map((manifest) => manifest.object)))
      found.set(name, labels);
  }
  return found;
}

function namespaceOf(object: unknown): string | undefined {
  const namespace = (object as { metadata?: { namespace?: unknown } } | null)?.metadata?.namespace;
  return typeof namespace === 'string' ? namespace : undefined;
}

function clockOf(at: string | undefined): Date {
  if (at === undefined) return new Date();
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(at)
    ? Date.parse(at)
    : Number.NaN;
  if (Number.isNaN(time))
    throw new PinwardenError('PW_INPUT_INVALID', `--at ${at}: not an RFC 3339 time such as 2027-01-31T00:00:00Z`);
  return new Date(time);
}

/** Exceptions are a few KiB each and at most 1024 documents; a larger file is a mistake, not input. */
const MAX_EXCEPTIONS_BYTES = 4 * 1024 * 1024;

async function readExceptions(file: string, cwd: string): Promise<ExceptionSet['exceptions']> {
  const bytes = await readInputFile(resolve(cwd, file), `--exceptions ${file}`, { maxBytes: MAX_EXCEPTIONS_BYTES });
  return loadExceptions(bytes.toString('utf8'), file);
}

function selectionNotes(selection: SelectionLog, locator: OriginLocator): string[] {
  const notes: string[] = [];
  const helm = selection.helmTemplateDirs;
  if (helm.length > 0) {
    const shown = helm.slice(0, 3).join(', ');
    notes.push(
      `skipped ${helm.length} Helm chart templates/ director${helm.length === 1 ? 'y' : 'ies'} (templates are not manifests; check the rendered chart): ${shown}${helm.length > 3 ? `, … ${helm.length - 3} more` : ''}`,
    );
  }
  if (selection.excluded > 0)
    notes.push(
      `excluded ${selection.excluded} path${selection.excluded === 1 ? '' : 's'} (--exclude, .pinwardenignore)`,
    );
  if (locator.missing.size > 0) {
    notes.push(
      `origin file${locator.missing.size === 1 ? '' : 's'} not found under --origin-root, reported at line 1: ${[...locator.missing].slice(0, 3).join(', ')}${locator.missing.size > 3 ? ', …' : ''}`,
    );
  }
  return notes;
}

function describeInputs(paths: readonly string[]): string {
  const named = paths.map((path) => (path === '-' ? 'stdin' : path));
  return named.length > 3 ? `${named.slice(0, 3).join(', ')} and ${named.length - 3} more` : named.join(', ');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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
