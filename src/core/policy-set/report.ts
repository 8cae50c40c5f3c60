/** What the cluster policy source writes to an object's status (a `Ready` condition) and, on change, an Event. */

export interface ObjectCondition {
  status: 'True' | 'False';
  /** CamelCase, stable: Accepted, InvalidPolicy, CombinationInvalid; Active, InvalidException, Expired. */
  reason: string;
  message: string;
}

export interface ObjectReport {
  kind: 'SourcePolicy' | 'SourcePolicyException';
  namespace?: string;
  name: string;
  /** metadata.generation of the version judged (the condition's observedGeneration). */
  generation?: number;
  condition: ObjectCondition;
}

/** Condition messages and Event notes are bounded (Events cap notes at 1 KiB). */
export const MAX_MESSAGE = 1000;

export function boundedMessage(text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text;
}

/** Whether a report says something new compared with the last one written (so Events are not repeated). */
export function sameReport(a: ObjectReport | undefined, b: ObjectReport): boolean {
  return (
    a !== undefined &&
    a.generation === b.generation &&
    a.condition.status === b.condition.status &&
    a.condition.reason === b.condition.reason &&
    a.condition.message === b.condition.message
  );
}
