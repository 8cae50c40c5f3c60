/**
 * `buildServer(deps)`: the admission webhook as a fastify instance that is not yet listening. Envelope
 * problems are real HTTP errors (400 malformed — including JSON nested past MAX_JSON_DEPTH —, 413 over 3 MiB
 * — the apiserver's own request cap —, 415 wrong content type, 404 unknown path, answered before the body is
 * read, 503 when the body budget is full); everything inside a well-formed review is answered in the review,
 * with the uid echoed, before the apiserver's `?timeout=` runs out. Connections are bounded in number, time
 * and held body bytes (see connection-limits.ts).
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { fastify } from 'fastify';
import { serverTlsOptions, systemClock } from '../runtime/index.ts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinwardenError, errorLogFields, isPinwardenError, statusFor } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';
import { parseGoDurationMs } from '../core/duration.ts';
import type { SourcePolicy } from '../core/policy/index.ts';
import type { WebhookDeps } from './deps.ts';
import type { Route } from './metrics.ts';
import { DEFAULT_LIMITS, createBodyBudget, jsonDepthExceeds } from './connection-limits.ts';
import type { BodyBudget, ConnectionLimits } from './connection-limits.ts';
import { decodeReview, encodeReview } from './review.ts';
import type { AdmissionRequest } from './review.ts';
import { createWatchdog, type Watchdog } from './watchdog.ts';
import type { Answer, RouteEnv, RouteHandler } from './routes/answer.ts';
import { isOutOfScope } from './routes/answer.ts';
import { answerMutate, mutateFailure } from './routes/mutate.ts';
import { answerValidate, validateFailure } from './routes/validate.ts';

export const MAX_REVIEW_BYTES = 3 * 1024 * 1024;
/** Flux source objects (with managedFields) nest about 15 deep; anything past this is not a review. */
export const MAX_JSON_DEPTH = 128;
const ROUTES = new Set(['/mutate', '/validate']);
const APISERVER_DEFAULT_TIMEOUT_MS = 10_000;
/** Answer this much before the apiserver gives up: network and serialisation need time too. */
const MIN_MARGIN_MS = 150;
/** The identity worker's answers are due this long before answerBy (the rules still run after them). */
const IDENTITY_MARGIN_MS = 100;
/** How often overdue reviews are swept; well inside MIN_MARGIN_MS. */
const WATCHDOG_TICK_MS = 25;
/** fastify's default: longer than the apiserver's own idle keep-alive, so the apiserver closes first. */
const KEEP_ALIVE_TIMEOUT_MS = 72_000;

export function buildServer(deps: WebhookDeps): FastifyInstance {
  const limits = { ...DEFAULT_LIMITS, ...deps.limits };
  const budget = createBodyBudget(limits.bodyBudgetBytes);
  const app = fastify({
    // No fastify logger: it would build a child logger per request. Reviews and errors log through
    // deps.logger instead (one line per review).
    logger: false,
    bodyLimit: MAX_REVIEW_BYTES,
    return503OnClosing: true,
    // The server is ours so that every request passes the gate (admitRequest) before fastify sees it: the gate
    // needs nothing of fastify's, and a hook there would cost each review a trip through fastify's hook runner.
    serverFactory: (handler) =>
      createReviewServer(limits, deps, (request, response) => {
        if (admitRequest(request, response, budget, deps)) handler(request, response);
      }),
  }) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const text = (body as Buffer).toString('utf8');
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      done(
        new PinwardenError(
          'PW_REVIEW_MALFORMED',
          `malformed AdmissionReview: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
        ),
        undefined,
      );
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(
        new PinwardenError('PW_REVIEW_MALFORMED', 'malformed AdmissionReview: the body is not valid JSON'),
        undefined,
      );
    }
  });
  app.setErrorHandler((error: FastifyError | PinwardenError, request, reply) =>
    answerHttpError(error, request, reply, deps),
  );
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({
      statusCode: 404,
      message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}: pinwarden serves POST /mutate and POST /validate`,
    });
  });
  const watchdog = createWatchdog(WATCHDOG_TICK_MS, deps.clock ?? systemClock);
  app.addHook('onClose', (_instance, done) => {
    watchdog.stop();
    done();
  });
  app.post('/mutate', reviewRoute('mutate', answerMutate, deps, watchdog));
  app.post('/validate', reviewRoute('validate', answerValidate, deps, watchdog));
  return app;
}

/** The HTTPS (or, in tests, plain HTTP) server with the connection limits of connection-limits.ts. */
function createReviewServer(limits: ConnectionLimits, deps: WebhookDeps, listener: RequestListener): HttpServer {
  const timeouts = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
  const server = deps.https
    ? createHttpsServer({ ...serverTlsOptions(deps.https), ...timeouts }, listener)
    : createHttpServer(timeouts, listener);
  server.setTimeout(limits.idleTimeoutMs);
  server.maxConnections = limits.maxConnections;
  return server;
}

/**
 * Before any body byte is read: unknown paths get their 404, and the request's body is reserved against the
 * in-flight budget (its declared length, or the body limit when chunked), or refused with 503. Either early
 * answer closes the connection, so an unread body is never parsed as a next request. True: pass it on.
 */
function admitRequest(
  request: IncomingMessage,
  response: ServerResponse,
  budget: BodyBudget,
  deps: WebhookDeps,
): boolean {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (request.method !== 'POST' || !ROUTES.has(path)) {
    answerEarly(response, 404, {
      statusCode: 404,
      message: `no route ${request.method ?? ''} ${cut(path, 100)}: pinwarden serves POST /mutate and POST /validate`,
    });
    return false;
  }
  const declared = Number(request.headers['content-length']);
  const bytes = Number.isFinite(declared) && declared >= 0 ? Math.min(declared, MAX_REVIEW_BYTES) : MAX_REVIEW_BYTES;
  if (!budget.reserve(bytes)) {
    deps.metrics.observeReview(path === '/mutate' ? 'mutate' : 'validate', 'busy', 0);
    deps.logger.warn(
      { code: 'PW_REVIEW_BUSY', held: budget.held, bytes },
      'request refused: the in-flight body budget is full',
    );
    answerEarly(
      response,
      503,
      { statusCode: 503, code: 'PW_REVIEW_BUSY', message: 'pinwarden is holding its maximum of request bodies; retry' },
      { 'retry-after': '1' },
    );
    return false;
  }
  // 'close' follows 'finish' on every response, and also comes alone when the connection drops first: one
  // plain listener releases the bytes either way (two `once` wrappers and their emits cost more per request).
  response.on('close', () => budget.release(bytes));
  return true;
}

/** A JSON answer sent before the body is read; `connection: close` so the unread body is never parsed. */
function answerEarly(
  response: ServerResponse,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
    ...headers,
  });
  response.end(text);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function reviewRoute(route: Route, handler: RouteHandler, deps: WebhookDeps, watchdog: Watchdog) {
  const clock = deps.clock ?? systemClock;
  const timeoutOf = timeoutQueryReader();
  // Not async: a review the rules decide without I/O is answered in the same tick (fastify sends a plain
  // return value); only a review that waits on a registry goes through a promise.
  return (
    request: FastifyRequest<{ Querystring: { timeout?: unknown } }>,
  ): AdmissionReviewBody | Promise<AdmissionReviewBody> => {
    const started = clock.now();
    const review = decodeReview(request.body);
    const timeoutMs = timeoutOf(request.query.timeout) ?? deps.defaultTimeoutMs ?? APISERVER_DEFAULT_TIMEOUT_MS;
    const answerBy = started + timeoutMs - Math.max(MIN_MARGIN_MS, timeoutMs * 0.05);
    const answer = answerInTime(route, handler, review, deps, answerBy, watchdog);
    return answer instanceof Promise
      ? answer.then((settled) => finish(route, review, settled, deps, started))
      : finish(route, review, answer, deps, started);
  };
}

type AdmissionReviewBody = ReturnType<typeof encodeReview>;

function finish(
  route: Route,
  review: AdmissionRequest,
  answer: Answer,
  deps: WebhookDeps,
  started: number,
): AdmissionReviewBody {
  const durationMs = (deps.clock ?? systemClock).now() - started;
  deps.metrics.observeReview(route, answer.verdict, durationMs / 1000);
  // Decisions that change or refuse something are logged at info; plain "allowed, unchanged" at debug, and
  // so is a dry-run pin: kustomize-controller dry-runs every reconcile with the tag from Git, so each one is
  // patched again, and those lines would drown the rest (and cost ~3 µs each).
  const routine =
    answer.verdict === 'allow' || answer.verdict === 'unchanged' || (review.dryRun && answer.verdict === 'patched');
  const quiet = routine && answer.response.warnings === undefined;
  const level = quiet ? 'debug' : 'info';
  if (deps.logger.isLevelEnabled(level))
    deps.logger[level](logFields(route, review, answer, durationMs), 'admission review');
  return encodeReview(answer.response);
}

/**
 * Runs the route; a throw becomes the route's fail-open (mutate) or fail-closed (validate) answer. An answer
 * that needs I/O also runs under a wall-clock guard, so an overrun is answered before the apiserver gives up.
 */
function answerInTime(
  route: Route,
  handler: RouteHandler,
  review: AdmissionRequest,
  deps: WebhookDeps,
  answerBy: number,
  watchdog: Watchdog,
): Answer | Promise<Answer> {
  const clock = deps.clock ?? systemClock;
  let policy: SourcePolicy | undefined;
  try {
    policy = deps.policy.current();
    const current = policy;
    // Identity containment the rules would compute inline runs in the worker first (off the event loop).
    // Its deadline comes before answerBy, so an undecided identity is denied by the rules (identity-too-complex)
    // rather than reaching the watchdog, whose deadline answer `registry.onUnreachable: warn` would admit.
    const identities =
      route === 'validate' && deps.identityOffload && !isOutOfScope(review)
        ? deps.identityOffload.prepare(
            review.object,
            review.namespace,
            current,
            Math.max(clock.now() + 1, answerBy - IDENTITY_MARGIN_MS),
          )
        : undefined;
    const exceptions = route === 'validate' ? deps.policy.exceptions?.() : undefined;
    const run = (env: Pick<RouteEnv, 'identities'>): Answer | Promise<Answer> =>
      handler(review, {
        policy: current,
        flows: deps.flows,
        remainingMs: Math.max(1, answerBy - clock.now() - 25),
        ...(exceptions ? { exceptions } : {}),
        ...env,
      });
    const outcome = identities ? identities.then((decided) => run({ identities: decided })) : run({});
    if (!(outcome instanceof Promise)) return outcome;
    // The watchdog sweeps every WATCHDOG_TICK_MS, so it may fire up to one tick after answerBy (inside the margin).
    return watchdog
      .guard(outcome, answerBy)
      .catch((error: unknown) => failureAnswer(route, review, error, deps, policy));
  } catch (error) {
    return failureAnswer(route, review, error, deps, policy);
  }
}

function failureAnswer(
  route: Route,
  review: AdmissionRequest,
  error: unknown,
  deps: WebhookDeps,
  policy: SourcePolicy | undefined,
): Answer {
  if (!isPinwardenError(error) || error.kind === 'internal')
    deps.logger.error({ ...errorLogFields(error), reqId: review.uid, route }, 'admission review failed');
  return route === 'mutate' ? mutateFailure(review, error) : validateFailure(review, error, policy);
}

/** fastify's own envelope errors, as catalogue codes (their HTTP status comes from the catalogue). */
const FASTIFY_CODES: Partial<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PW_REVIEW_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'PW_REVIEW_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'PW_REVIEW_MALFORMED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'PW_REVIEW_MALFORMED',
};

function answerHttpError(
  error: FastifyError | PinwardenError,
  request: FastifyRequest,
  reply: FastifyReply,
  deps: WebhookDeps,
): void {
  const ours = error instanceof PinwardenError && error.kind === 'framing' ? error : undefined;
  const code = ours?.code ?? FASTIFY_CODES[String(error.code)];
  const route = request.routeOptions.url === '/mutate' ? 'mutate' : 'validate';
  deps.metrics.observeReview(route, 'invalid', 0);
  if (code === undefined) {
    deps.logger.error({ ...errorLogFields(error), route }, 'request failed outside a review');
    void reply.code(500).send({ statusCode: 500, code: 'PW_INTERNAL', message: 'internal error' });
    return;
  }
  const status = statusFor(code);
  const message = envelopeMessage(code, request, ours);
  deps.logger.warn({ route, code, status }, message);
  void reply.code(status).send({ statusCode: status, code, message });
}

/** Our own words for an envelope error: a fastify message is never passed on. */
function envelopeMessage(code: ErrorCode, request: FastifyRequest, ours: PinwardenError | undefined): string {
  if (code === 'PW_REVIEW_MEDIA_TYPE')
    return `AdmissionReview must be sent as application/json, got ${cut(String(request.headers['content-type'] ?? 'no content type'), 100)}`;
  if (code === 'PW_REVIEW_TOO_LARGE') return `AdmissionReview body over ${MAX_REVIEW_BYTES} bytes`;
  return ours?.message ?? 'malformed AdmissionReview: empty body or invalid Content-Length';
}

/**
 * The apiserver appends `?timeout=10s` (a Go duration) to every webhook call, the same text each time, so each
 * server keeps the last text it parsed. Zero, negative, repeated and malformed values give undefined (the default
 * applies).
 */
export function timeoutQueryReader(): (text: unknown) => number | undefined {
  let lastText = '';
  let lastMs: number | undefined;
  return (text) => {
    // A repeated `?timeout=` arrives as an array: not a duration.
    if (typeof text !== 'string') return undefined;
    if (text !== lastText) {
      const ms = parseGoDurationMs(text);
      lastMs = ms !== undefined && ms > 0 ? ms : undefined;
      lastText = text;
    }
    return lastMs;
  };
}

function logFields(
  route: Route,
  review: AdmissionRequest,
  answer: Answer,
  durationMs: number,
): Record<string, unknown> {
  const metadata = (review.object as { metadata?: { name?: unknown; namespace?: unknown } } | null)?.metadata;
  const name = typeof metadata?.name === 'string' ? metadata.name : '';
  const namespace = typeof metadata?.namespace === 'string' ? metadata.namespace : (review.namespace ?? '');
  return {
    reqId: review.uid,
    route,
    operation: review.operation,
    kind: answer.kind,
    object: cut(namespace ? `${namespace}/${name}` : name, 300),
    dryRun: review.dryRun,
    verdict: answer.verdict,
    ...(answer.ruleIds && answer.ruleIds.length > 0 ? { ruleIds: answer.ruleIds } : {}),
    ...(answer.policyRule ? { policyRule: answer.policyRule } : {}),
    ...(answer.code ? { code: answer.code } : {}),
    durationMs: Math.round(durationMs * 10) / 10,
  };
}
