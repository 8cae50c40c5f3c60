/**
 * Reads SourcePolicyException documents from YAML/JSON text (one file may hold many, `---` separated):
 * schema-validated with the same ajv settings as the policy, `expires` must be a real time, every rule id one
 * pinwarden reports (a misspelt id would silently waive nothing), names unique per namespace. Any problem is
 * one PW_EXCEPTION_INVALID naming the document and field.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { LineCounter, parseAllDocuments } from 'yaml';
import { closest } from '../closest.ts';
import { PinwardenError } from '../errors.ts';
import { describeSchemaError, sourcePolicyExceptionSchema, sourcePolicySchema } from '../policy/index.ts';
import { RULE_IDS } from '../rules/index.ts';
import type { SourcePolicyException } from './types.ts';

let compiled: ValidateFunction<SourcePolicyException> | undefined;
/** Compiled on first use: commands that never read exceptions (`pull`, `verify`) do not pay for it at start-up. */
function exceptionValidator(): ValidateFunction<SourcePolicyException> {
  if (!compiled) {
    const ajv = new Ajv({ strict: true, allErrors: true, useDefaults: true });
    ajv.addSchema(sourcePolicySchema);
    compiled = ajv.compile<SourcePolicyException>(sourcePolicyExceptionSchema);
  }
  return compiled;
}

/** Rule ids an exception can waive: the static rules (not the admission-time signature check). */
export const WAIVABLE_RULE_IDS: readonly string[] = RULE_IDS;

const MAX_DOCUMENTS = 1024;

export function loadExceptions(text: string, sourceName: string): SourcePolicyException[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(documents)) return [];
  if (documents.length > MAX_DOCUMENTS)
    throw invalid(`${sourceName}: more than ${MAX_DOCUMENTS} documents`, sourceName);
  const exceptions: SourcePolicyException[] = [];
  const seen = new Set<string>();
  for (const [index, document] of documents.entries()) {
    const where = `${sourceName} (document ${index + 1})`;
    const syntaxError = document.errors[0];
    if (syntaxError) {
      const line = lineCounter.linePos(syntaxError.pos[0]).line;
      throw invalid(
        `${sourceName}:${line}: not valid YAML: ${syntaxError.message.split('\n')[0] ?? ''}`,
        sourceName,
        line,
      );
    }
    let candidate: unknown;
    try {
      candidate = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      throw invalid(
        `${where}: not usable YAML: ${error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)}`,
        sourceName,
      );
    }
    if (candidate === null || candidate === undefined) continue;
    const validate = exceptionValidator();
    if (!validate(candidate)) {
      const problems = (validate.errors ?? []).map((error) =>
        error.instancePath === '/spec/expires' && error.keyword === 'pattern'
          ? describeSchemaError(
              { ...error, message: 'must be an RFC 3339 time such as 2026-12-31T00:00:00Z' },
              document.contents,
              lineCounter,
            )
          : describeSchemaError(error, document.contents, lineCounter),
      );
      throw invalid(`${where}: invalid SourcePolicyException: ${problems.join('; ')}`, sourceName);
    }
    const problems = semanticProblems(candidate);
    const id = `${candidate.metadata.namespace}/${candidate.metadata.name}`;
    if (seen.has(id)) problems.push(`metadata: ${id} is defined twice`);
    seen.add(id);
    if (problems.length > 0)
      throw invalid(`${where} ${id}: invalid SourcePolicyException: ${problems.join('; ')}`, sourceName);
    exceptions.push(candidate);
  }
  return exceptions;
}

function semanticProblems(exception: SourcePolicyException): string[] {
  const problems: string[] = [];
  if (Number.isNaN(Date.parse(exception.spec.expires)))
    problems.push(`spec.expires: '${exception.spec.expires}' is not a valid time`);
  exception.spec.ruleIds.forEach((ruleId, index) => {
    if (WAIVABLE_RULE_IDS.includes(ruleId)) return;
    const suggestion = closest(ruleId, WAIVABLE_RULE_IDS, 4);
    problems.push(
      `spec.ruleIds[${index}]: '${ruleId}' is not a pinwarden rule id${suggestion ? ` (did you mean ${suggestion}?)` : ''}; see README "Rules"`,
    );
  });
  exception.spec.objects.forEach((object, index) => {
    const selector = object.selector;
    if ((object.name === undefined) === (selector === undefined)) {
      problems.push(`spec.objects[${index}]: give exactly one of name or selector`);
      return;
    }
    if (
      selector &&
      Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0
    ) {
      problems.push(
        `spec.objects[${index}].selector: an empty selector would waive every ${object.kind} in the namespace; name the objects or their labels`,
      );
    }
  });
  return problems;
}

function invalid(message: string, file: string, line?: number): PinwardenError {
  return new PinwardenError('PW_EXCEPTION_INVALID', message, { details: { file, ...(line ? { line } : {}) } });
}
