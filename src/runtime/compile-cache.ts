/**
 * Node's module compile cache (V8 code cache of every module loaded), turned on by the bin entry before the
 * program loads, so a cold CLI run reuses the bytecode of the previous one (BENCHMARKS.md, `pinwarden pull`).
 *
 * Where: `$XDG_CACHE_HOME/pinwarden/compile-cache`, else `~/.cache/pinwarden/compile-cache` (the image sets
 * HOME=/tmp). The directory must be this user's own and writable by nobody else: another user's cache could
 * hold bytecode of their choosing, so such a directory is not used. Levels are created one at a time, never
 * recursively: Node's recursive mkdir does not return on some paths (under /proc it spins). Bounded: Node keeps
 * one entry per module file and Node version, and a rebuilt file overwrites its entry. Off when
 * NODE_DISABLE_COMPILE_CACHE is set; NODE_COMPILE_CACHE=DIR (Node's own) takes precedence. Any failure leaves
 * the cache off and says nothing: the cache only saves time.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { constants, enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

export interface CompileCacheEnv {
  env: Record<string, string | undefined>;
  home: () => string;
  uid: number | undefined;
}

/** The directory to use, or undefined when the cache stays off (or Node already turned it on). */
export function compileCacheDirectory(context: CompileCacheEnv): string | undefined {
  const { env } = context;
  if (env.NODE_DISABLE_COMPILE_CACHE !== undefined || env.NODE_COMPILE_CACHE !== undefined) return undefined;
  const xdg = env.XDG_CACHE_HOME;
  let base: string;
  try {
    base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(context.home(), '.cache');
  } catch {
    return undefined;
  }
  if (!isAbsolute(base)) return undefined;
  const levels = [base, join(base, 'pinwarden'), join(base, 'pinwarden', 'compile-cache')];
  for (const level of levels) {
    try {
      mkdirSync(level, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return undefined;
    }
  }
  // Both levels that are pinwarden's: with a shared base (XDG_CACHE_HOME=/tmp), another user's `pinwarden`
  // folder could swap the cache directory under us.
  const [, own, directory] = levels;
  return own && directory && ownedPrivateDirectory(own, context.uid) && ownedPrivateDirectory(directory, context.uid)
    ? directory
    : undefined;
}

/** A real directory (not a link) owned by `uid` that neither group nor others may write. */
function ownedPrivateDirectory(directory: string, uid: number | undefined): boolean {
  try {
    const stats = lstatSync(directory);
    return stats.isDirectory() && (uid === undefined || stats.uid === uid) && (stats.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Turns the cache on for the rest of this process; true when it is on. */
export function enableModuleCompileCache(
  context: CompileCacheEnv = { env: process.env, home: homedir, uid: process.getuid?.() },
): boolean {
  const directory = compileCacheDirectory(context);
  if (directory === undefined) return false;
  try {
    return enableCompileCache(directory).status === constants.compileCacheStatus.ENABLED;
  } catch {
    return false;
  }
}
