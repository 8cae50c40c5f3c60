/**
 * Policy rules scoped per source: which `spec.rules` entry decides an object (`selectRule`), and the label
 * selector semantics its match uses. Pure; see README.md.
 */
export { describeRule, needsNamespaceLabels, selectRule } from './select.ts';
export type { RuleSelection, ScopeFacts } from './select.ts';
export { labelsOf, selectorMatches } from './label-selector.ts';
export type { Labels } from './label-selector.ts';
export { namespaceLabelsOf } from './namespaces.ts';
