/**
 * What one client can hold of the webhook: connections, time and request bodies. The apiserver sends one
 * small review per call and waits at most 30 s, so a connection that trickles a body, or hundreds of them,
 * are not the apiserver and get closed or refused:
 * - `requestTimeoutMs` (15 s, as Kyverno's webhook server): the whole request, headers and body, must arrive
 *   within it, or the socket is closed (Node checks every `checkIntervalMs`);
 * - `headersTimeoutMs`: the headers alone; `idleTimeoutMs`: a socket with no traffic at all;
 * - `maxConnections`: sockets past it are closed on accept;
 * - `bodyBudgetBytes`: request bodies held at once (declared length, or the body limit when undeclared);
 *   a request that would pass it is answered 503 `PW_REVIEW_BUSY` before its body is read.
 */
export interface ConnectionLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  checkIntervalMs: number;
  maxConnections: number;
  bodyBudgetBytes: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  requestTimeoutMs: 15_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  checkIntervalMs: 1_000,
  maxConnections: 512,
  bodyBudgetBytes: 64 * 1024 * 1024,
};

export interface BodyBudget {
  /** Reserves `bytes`; false when the budget cannot hold them now. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
  readonly held: number;
}

export function createBodyBudget(limitBytes: number): BodyBudget {
  let held = 0;
  return {
    reserve(bytes) {
      if (held + bytes > limitBytes) return false;
      held += bytes;
      return true;
    },
    release(bytes) {
      held = Math.max(0, held - bytes);
    },
    get held() {
      return held;
    },
  };
}

/**
 * Whether a JSON text nests arrays and objects deeper than `limit`, counted on the characters (strings
 * skipped): a linear scan without recursion, so a body nested 100,000 deep is refused before anything
 * recursive (JSON.stringify, a logger, a JSON Patch) ever walks it. It reads the decoded text, not the bytes:
 * JSON.parse needs that text anyway, and a string's own indexOf is a builtin, not a call into C++.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  // Nesting past `limit` needs more than `limit` opening brackets; a review has a few dozen.
  if (!moreThan(text, '{', '[', limit)) return false;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
      continue;
    }
    if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      depth++;
      if (depth > limit) return true;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return false;
}

/** Whether `text` holds more than `limit` characters equal to `a` or `b`. */
function moreThan(text: string, a: string, b: string, limit: number): boolean {
  let count = 0;
  for (let at = text.indexOf(a); at >= 0; at = text.indexOf(a, at + 1)) if (++count > limit) return true;
  for (let at = text.indexOf(b); at >= 0; at = text.indexOf(b, at + 1)) if (++count > limit) return true;
  return false;
}
