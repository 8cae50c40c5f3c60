/**
 * The admission webhook room: `buildServer(deps)` (fastify, not listening; `/mutate` and `/validate` speak
 * AdmissionReview admission.k8s.io/v1), `startServe` (HTTPS + metrics port + reloads, used by
 * `pinwarden serve`), and the pieces tests and benchmarks reuse.
 */
export { buildServer, MAX_JSON_DEPTH, MAX_REVIEW_BYTES, timeoutQueryReader } from './server.ts';
export { DEFAULT_LIMITS, createBodyBudget, jsonDepthExceeds } from './connection-limits.ts';
export type { ConnectionLimits } from './connection-limits.ts';
export { admissionFlows } from './deps.ts';
export type { AdmissionFlows, WebhookDeps } from './deps.ts';
export { startServe } from './serve.ts';
export { createIdentityOffload } from './identity-offload.ts';
export type { IdentityOffload } from './identity-offload.ts';
export type { EmbeddedService, EmbeddedShared, RunningServe, ServeOptions } from './serve.ts';
export { createWebhookMetrics } from './metrics.ts';
export type { Route, WebhookMetrics } from './metrics.ts';
export { buildMetricsServer } from './metrics-server.ts';
export { boundMessage, decodeReview, encodeReview, MAX_ANSWER_BYTES, REVIEW_API_VERSION } from './review.ts';
export type { AdmissionRequest, AdmissionResponse } from './review.ts';
export { MAX_WARNING_LENGTH, truncateWarning } from './warnings.ts';
