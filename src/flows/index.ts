/**
 * Compositions used by more than one entrypoint. `admit` is the admission flow (`/mutate`, `/validate` and
 * `check --resolve` call the same functions, so their verdicts cannot drift); `resolve` builds registry
 * access per object the way Flux does and resolves pin targets within the registry deadline.
 */
export { COMMIT_BINDING_RULE_ID, SIGNATURE_RULE_ID, admitObject, mutateObject, validateObject } from './admit.ts';
export type { AdmissionInput, AdmitDeps, ValidateResult } from './admit.ts';
export { createPinResolver } from './resolve.ts';
export { withRegistryCall } from './registry-call.ts';
export type { PinResolver, PinResolverOptions } from './resolve.ts';
export { clusterAccess, localAccess } from './registry-access.ts';
export type { AccessProvider, AccessRequest, RegistryAccess } from './registry-access.ts';
export { createPinFailureLog } from './pin-failures.ts';
export type { PinFailureLog, PinFailureLogOptions } from './pin-failures.ts';
export { createAdmissionVerifier } from './verify.ts';
export type { AdmissionVerifier, AdmissionVerifierOptions, BindingReport, VerifyOutcome } from './verify.ts';
export { admissionChecks, artifactAnnotations, bindingOf, signatureJudge, verifyWithChecks } from './pull/index.ts';
export type { SignatureChecks, SignatureVerifier } from './pull/index.ts';
export { needsVerifyTrust, readVerifyTrust } from './verify-trust.ts';
export type { VerifyTrust } from './verify-trust.ts';
export { loggingRegistryEvents, registryMetricsSink } from './registry-metrics.ts';
export type { DebugLogger } from './registry-metrics.ts';
export { pullArtifact } from './pull/index.ts';
export type { LayerSelector, PullArtifactRequest, PullVerification, PulledArtifact } from './pull/index.ts';
