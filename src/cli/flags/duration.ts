/**
 * `--timeout` and every other duration flag: Go/Flux syntax (`30s`, `2m`, `1m30s`, `500ms`), and a bare
 * number still means seconds (what older pinwarden versions took), so existing scripts keep working.
 */
import { PinwardenError } from '../../core/errors.ts';
import { parseGoDurationMs } from '../../core/duration.ts';

/** Milliseconds from a duration flag, within (0, max]; anything else is PW_INPUT_INVALID naming the flag. */
export function durationFlagMs(flag: string, text: string, maxMs = 3_600_000): number {
  const trimmed = text.trim();
  const ms = /^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) * 1000 : parseGoDurationMs(trimmed);
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || ms > maxMs) {
    throw new PinwardenError(
      'PW_INPUT_INVALID',
      `${flag} takes a Go duration such as 30s, 2m or 1m30s (at most ${maxMs / 60_000}m), got '${text.slice(0, 40)}'`,
    );
  }
  return Math.max(1, Math.round(ms));
}
