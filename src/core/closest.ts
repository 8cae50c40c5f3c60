/**
 * "Did you mean": the candidate closest to a string by edit distance, for messages (a misspelt rule id, the
 * allowed identity nearest to a submitted one). Bounded: inputs longer than `MAX_LENGTH` are cut first, so
 * the work is at most MAX_LENGTH² per candidate whatever a tenant submits.
 */

const MAX_LENGTH = 256;

export function editDistance(a: string, b: string): number {
  const left = a.slice(0, MAX_LENGTH);
  const right = b.slice(0, MAX_LENGTH);
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
}

/** The closest candidate, or undefined when there is none or the best needs more edits than `maxDistance`. */
export function closest(
  value: string,
  candidates: readonly string[],
  maxDistance = Number.POSITIVE_INFINITY,
): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates.slice(0, 256)) {
    const distance = editDistance(value, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= maxDistance ? best : undefined;
}
