/** Builds the webhook for inject() tests: real flows over a programmable pin resolver, quiet logs, own metrics. */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createPinFailureLog } from '../../../src/flows/index.ts';
import type { PinResolver } from '../../../src/flows/index.ts';
import type { SourcePolicy } from '../../../src/core/policy/index.ts';
import { createLogger, staticPolicy } from '../../../src/runtime/index.ts';
import type { Clock } from '../../../src/runtime/index.ts';
import { admissionFlows, buildServer, createWebhookMetrics } from '../../../src/webhook/index.ts';
import type { AdmissionFlows, WebhookMetrics } from '../../../src/webhook/index.ts';
import { fakePinResolver } from '../../helpers/admission.ts';
import type { Loose } from '../../helpers/admission.ts';
import { policyFrom } from '../../helpers/rule-tester.ts';
import { TRUSTS_PLATFORM_KEY, platformKeySecrets } from '../../helpers/trust.ts';

export const NOW = new Date('2026-03-01T12:00:00Z');

export interface Harness {
  app: FastifyInstance;
  metrics: WebhookMetrics;
  logs: Array<Record<string, unknown>>;
  review(
    path: '/mutate' | '/validate',
    body: unknown,
    query?: string,
  ): Promise<{ status: number; response: Loose; body: Loose; ms: number }>;
}

export function startHarness(
  options: {
    policy?: SourcePolicy | string;
    pins?: PinResolver | ((metrics: WebhookMetrics) => PinResolver);
    flows?: AdmissionFlows;
    clock?: Clock;
  } = {},
): Harness {
  const policy =
    typeof options.policy === 'string' || options.policy === undefined ? policyFrom(options.policy) : options.policy;
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line));
      done();
    },
  });
  const metrics = createWebhookMetrics({ defaultMetrics: false });
  const pins = typeof options.pins === 'function' ? options.pins(metrics) : (options.pins ?? fakePinResolver());
  const flows =
    options.flows ??
    admissionFlows({ pins, failures: createPinFailureLog(), now: () => NOW, secrets: platformKeySecrets() });
  const app = buildServer({
    policy: staticPolicy(policy),
    flows,
    logger: createLogger({ destination }),
    metrics,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return {
    app,
    metrics,
    logs,
    async review(path, body, query = '') {
      const started = performance.now();
      const reply = await app.inject({ method: 'POST', url: `${path}${query}`, payload: body as object });
      const parsed = reply.body === '' ? undefined : JSON.parse(reply.body);
      return { status: reply.statusCode, response: parsed?.response, body: parsed, ms: performance.now() - started };
    },
  };
}

/** Policy trusting the platform key that `apps/cosign-pub` holds (the objects verify with it), defaults otherwise. */
export const KEY_BASED = `ociRepository: {${TRUSTS_PLATFORM_KEY}}`;
