/**
 * Picks the counterexample a human can read: the cheapest accepting path through a (lazy) automaton,
 * where every character costs a fixed amount plus a penalty for being hard to read. Length dominates,
 * so the answer is short; among short answers letters beat punctuation, ASCII beats other scripts and
 * anything beats control characters such as a newline.
 */
import type { CharSet } from 'refa';

/** Most readable first: "X" marks "any character here" well (as in `githubXcom`). */
const PREFERRED = [
  'Xx',
  'abcdefghijklmnopqrstuvwyz',
  'ABCDEFGHIJKLMNOPQRSTUVWYZ',
  '0123456789',
  '-_./:@',
  '!"#$%&\'()*+,;<=>?[\\]^`{|}~',
  ' ',
]
  .join('')
  .split('')
  .map((char) => char.charCodeAt(0));

const PER_CHARACTER = 100;
const OTHER_SCRIPT_PENALTY = 300;
const CONTROL_PENALTY = 600;

export interface ReadableChar {
  readonly char: number;
  readonly cost: number;
}

export function readableChar(chars: CharSet): ReadableChar {
  for (let rank = 0; rank < PREFERRED.length; rank++) {
    const char = PREFERRED[rank] ?? 0;
    if (chars.has(char)) return { char, cost: PER_CHARACTER + rank };
  }
  // Not commonCharacter: it returns *a* common character, not the smallest.
  const printable = chars.intersect({ min: 0xa1, max: chars.maximum }).ranges[0]?.min;
  if (printable !== undefined) return { char: printable, cost: PER_CHARACTER + OTHER_SCRIPT_PENALTY };
  return { char: chars.ranges[0]?.min ?? 0, cost: PER_CHARACTER + CONTROL_PENALTY };
}

export interface PathGraph<S> {
  readonly initial: S;
  readonly getOut: (state: S) => Iterable<[S, CharSet]>;
  readonly isFinal: (state: S) => boolean;
}

interface Step<S> {
  readonly from: S | undefined;
  readonly char: number;
}

/**
 * Dijkstra from the initial state to the first final state popped. `onVisit` runs once per expanded
 * state (the place to enforce a time budget). Returns the code points of the path, or undefined when no
 * final state is reachable.
 */
export function cheapestAcceptingWord<S>(graph: PathGraph<S>, onVisit: () => void): number[] | undefined {
  const best = new Map<S, number>([[graph.initial, 0]]);
  const steps = new Map<S, Step<S>>([[graph.initial, { from: undefined, char: 0 }]]);
  const done = new Set<S>();
  const queue = new MinHeap<S>();
  queue.push(0, graph.initial);
  for (let entry = queue.pop(); entry; entry = queue.pop()) {
    const [cost, state] = entry;
    if (done.has(state)) continue;
    done.add(state);
    if (graph.isFinal(state)) return wordTo(state, steps);
    onVisit();
    for (const [next, chars] of graph.getOut(state)) {
      const readable = readableChar(chars);
      const nextCost = cost + readable.cost;
      if (done.has(next) || nextCost >= (best.get(next) ?? Infinity)) continue;
      best.set(next, nextCost);
      steps.set(next, { from: state, char: readable.char });
      queue.push(nextCost, next);
    }
  }
  return undefined;
}

function wordTo<S>(state: S, steps: ReadonlyMap<S, Step<S>>): number[] {
  const word: number[] = [];
  for (let step = steps.get(state); step?.from !== undefined; step = steps.get(step.from)) word.push(step.char);
  return word.reverse();
}

/** A binary min-heap keyed by cost; ties leave in insertion order so results are deterministic. */
class MinHeap<T> {
  private readonly items: { cost: number; order: number; value: T }[] = [];
  private pushed = 0;

  push(cost: number, value: T): void {
    const items = this.items;
    items.push({ cost, order: this.pushed++, value });
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(index, parent)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  pop(): [number, T] | undefined {
    const items = this.items;
    const top = items[0];
    if (!top) return undefined;
    const last = items.pop();
    if (last && items.length > 0) {
      items[0] = last;
      this.siftDown();
    }
    return [top.cost, top.value];
  }

  private siftDown(): void {
    const size = this.items.length;
    let index = 0;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < size && this.less(left, smallest)) smallest = left;
      if (right < size && this.less(right, smallest)) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private less(a: number, b: number): boolean {
    const x = this.items[a];
    const y = this.items[b];
    if (!x || !y) return false;
    return x.cost < y.cost || (x.cost === y.cost && x.order < y.order);
  }

  private swap(a: number, b: number): void {
    const items = this.items;
    const x = items[a];
    const y = items[b];
    if (!x || !y) return;
    items[a] = y;
    items[b] = x;
  }
}
