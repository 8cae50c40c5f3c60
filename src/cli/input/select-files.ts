/**
 * Which files `check` reads, one at a time (an async generator, so 10,000 files never sit in memory as a
 * list of contents). Directories are walked recursively for *.yaml, *.yml and *.json, skipping `.git`;
 * `--exclude` patterns and the `.pinwardenignore` at the root of each given directory use .gitignore syntax
 * (the `ignore` package) relative to that root. A `templates/` directory beside a `Chart.yaml` holds Helm
 * templates, not manifests: it is skipped and reported once in the summary.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';
import type { InputProblem } from './read-manifests.ts';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];
export const IGNORE_FILE = '.pinwardenignore';
/** A .pinwardenignore is a short list of patterns; anything larger is a mistake, not a file to load. */
const MAX_IGNORE_FILE_BYTES = 256 * 1024;

export interface FoundFile {
  absolute: string;
  display: string;
}

export interface SelectionLog {
  /** Helm chart `templates/` directories skipped (display paths). */
  helmTemplateDirs: string[];
  /** Files and directories left out by --exclude or a .pinwardenignore. */
  excluded: number;
  problems: InputProblem[];
}

export function emptySelectionLog(): SelectionLog {
  return { helmTemplateDirs: [], excluded: 0, problems: [] };
}

/** The files of one path argument, in a stable order. */
export async function* selectFiles(
  path: string,
  cwd: string,
  exclude: readonly string[],
  log: SelectionLog,
): AsyncGenerator<FoundFile> {
  const absolute = resolve(cwd, path);
  let info;
  try {
    info = await stat(absolute);
  } catch (error) {
    log.problems.push({ file: path, message: describeFsError(error) });
    return;
  }
  if (!info.isDirectory()) {
    // A named file is read unless --exclude names it (relative to the working directory).
    const fromCwd = toPosix(relative(cwd, absolute));
    if (
      exclude.length > 0 &&
      isRelativeInside(fromCwd) &&
      ignore()
        .add([...exclude])
        .ignores(fromCwd)
    ) {
      log.excluded += 1;
      return;
    }
    yield { absolute, display: path };
    return;
  }
  const rules = ignore().add([...exclude]);
  const ignoreFile = await readIgnoreFile(join(absolute, IGNORE_FILE), join(path, IGNORE_FILE), log);
  if (ignoreFile !== undefined) rules.add(ignoreFile);
  yield* walk({ absolute, display: path }, '', rules, log, new Set());
}

async function* walk(
  dir: FoundFile,
  relativeDir: string,
  rules: Ignore,
  log: SelectionLog,
  seen: Set<string>,
): AsyncGenerator<FoundFile> {
  let entries;
  try {
    const real = await realpath(dir.absolute);
    if (seen.has(real)) return;
    seen.add(real);
    entries = (await readdir(dir.absolute, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  } catch (error) {
    log.problems.push({ file: dir.display, message: describeFsError(error) });
    return;
  }
  const isChart = entries.some((entry) => entry.name === 'Chart.yaml' && !entry.isDirectory());
  for (const entry of entries) {
    if (entry.name === '.git') continue;
    const child = { absolute: join(dir.absolute, entry.name), display: join(dir.display, entry.name) };
    const relativePath = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
    let isDirectory = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      try {
        isDirectory = (await stat(child.absolute)).isDirectory();
      } catch (error) {
        log.problems.push({ file: child.display, message: describeFsError(error) });
        continue;
      }
    }
    if (isDirectory) {
      if (rules.ignores(`${relativePath}/`)) {
        log.excluded += 1;
        continue;
      }
      if (isChart && entry.name === 'templates') {
        log.helmTemplateDirs.push(child.display);
        continue;
      }
      yield* walk(child, relativePath, rules, log, seen);
      continue;
    }
    if (!MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) continue;
    if (rules.ignores(relativePath)) {
      log.excluded += 1;
      continue;
    }
    yield child;
  }
}

async function readIgnoreFile(absolute: string, display: string, log: SelectionLog): Promise<string | undefined> {
  try {
    const info = await stat(absolute);
    if (info.size > MAX_IGNORE_FILE_BYTES) {
      log.problems.push({ file: display, message: `larger than ${MAX_IGNORE_FILE_BYTES / 1024} KiB` });
      return undefined;
    }
    return await readFile(absolute, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    log.problems.push({ file: display, message: describeFsError(error) });
    return undefined;
  }
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

function isRelativeInside(path: string): boolean {
  return path !== '' && !isAbsolute(path) && !path.startsWith('../') && path !== '..';
}

export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'ELOOP') return 'too many levels of symbolic links';
  return error instanceof Error ? error.message : String(error);
}
