/** The plain-HTTP side port: liveness, readiness (policy and certificates loaded) and Prometheus metrics. */
import { LogController, fastify } from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../runtime/index.ts';
import type { WebhookMetrics } from './metrics.ts';

export function buildMetricsServer(options: {
  metrics: WebhookMetrics;
  isReady: () => boolean;
  logger: Logger;
}): FastifyInstance {
  const app = fastify({
    loggerInstance: options.logger.child({ server: 'metrics' }),
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (options.isReady()) return { status: 'ready' };
    return reply.code(503).send({ status: 'not ready' });
  });
  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', options.metrics.registry.contentType);
    return options.metrics.registry.metrics();
  });
  return app;
}
