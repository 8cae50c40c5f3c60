/** One line per object, at most 50 (an Event is not a log). Pure. */
export function lines(items: readonly string[]): string {
  const shown = items.slice(0, 50);
  return items.length > shown.length
    ? `${shown.join('\n')}\n… and ${items.length - shown.length} more`
    : shown.join('\n');
}
