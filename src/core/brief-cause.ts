/**
 * The part of an error message a 120-character warning has room for. Registry errors read
 * "GET https://host/v2/…: what happened" or "resolve host/repo:tag: what happened": the request line or
 * reference can take most of a warning, so leading segments that name a path are dropped and what happened
 * stays: `deadline exceeded`, `503 Service Unavailable`, `connect ECONNREFUSED 127.0.0.1:5000`.
 */
export function briefCause(message: string): string {
  const segments = message.split(': ');
  let first = 0;
  while (first < segments.length - 1 && (segments[first] ?? '').includes('/')) first++;
  return segments.slice(first).join(': ');
}
