/**
 * Go's time.ParseDuration syntax, as Flux fields and Go CLIs take durations: `30s`, `2m`, `1m30s`, `1.5h`,
 * `300ms`, `0`. Units ns, us (µs, μs), ms, s, m, h; a leading sign is accepted like Go but callers reject
 * negative values where they make no sense. Returns milliseconds (fractions kept), or undefined when the
 * text is not a Go duration. Linear scan, no regex backtracking; input length is capped.
 */

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Longer than any sensible duration; Go's own limit is ~290 years, far shorter than this text. */
const MAX_DURATION_TEXT = 64;

export function parseGoDurationMs(text: string): number | undefined {
  if (text.length === 0 || text.length > MAX_DURATION_TEXT) return undefined;
  let index = 0;
  let sign = 1;
  if (text[0] === '+' || text[0] === '-') {
    sign = text[0] === '-' ? -1 : 1;
    index = 1;
  }
  const body = text.slice(index);
  if (body === '0') return 0;
  if (body === '') return undefined;
  let total = 0;
  while (index < text.length) {
    const numberStart = index;
    while (index < text.length && isDigitOrDot(text[index] ?? '')) index += 1;
    const numberText = text.slice(numberStart, index);
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(numberText)) return undefined;
    const unitStart = index;
    while (index < text.length && !isDigitOrDot(text[index] ?? '')) index += 1;
    const factor = UNIT_MS[text.slice(unitStart, index)];
    if (factor === undefined) return undefined;
    total += Number(numberText) * factor;
  }
  return sign * total;
}

function isDigitOrDot(char: string): boolean {
  return char === '.' || (char >= '0' && char <= '9');
}

/** Formats milliseconds the way Go prints a time.Duration, for messages: 90000 → "1m30s". */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${rest}ms`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Number((rest / 1000).toFixed(3));
  return `${sign}${hours > 0 ? `${hours}h` : ''}${hours > 0 || minutes > 0 ? `${minutes}m` : ''}${seconds}s`;
}
