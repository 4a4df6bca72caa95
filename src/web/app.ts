// The HTTP app as a Fastify plugin tree: external plugins (multipart, static page, OpenAPI, rate limit), the
// runtime, and the routes. server.ts listens; tests build it with buildApp() and use inject() or a real socket.
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { METHODS } from 'node:http';
import { isIPv6 } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Config } from '../core/config.js';
import { clientError, frameworkErrors, registerErrorHandling } from './http/errors.js';
import { formBodySchema, parseJsonBody, restoreDefaults } from './http/upload.js';
import healthRoutes from './routes/health.js';
import probeRoutes from './routes/probes.js';
import imageRoutes from './routes/images.js';
import searchRoutes from './routes/search.js';
import statsRoutes from './routes/stats.js';
import describeRoutes from './routes/describe.js';
import metricsRoutes from './routes/metrics.js';
import duplicateRoutes from './routes/duplicates.js';
import takeAwayRoutes from './routes/take-away.js';
import trashRoutes from './routes/trash.js';
import { Runtime } from '../application/runtime/runtime.js';
import { VERSION } from '../core/util/version.js';
import { tracingPlugin } from '../core/util/tracing.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Loading, Failed, Ready or Closed; routes call `runtime.ready()` for the use cases (503 before). */
    runtime: Runtime;
  }
}

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  /** Start loading models when the app is ready (default); tests may start and await them explicitly. */
  startRuntime?: boolean;
}

/** One log line per request, when it completes; its arrival only at debug level. */
class RequestLog extends LogController {
  override incomingRequest(req: FastifyRequest): void {
    req.log.debug(`incoming ${req.method} ${req.url}`);
  }

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    // designed refusals (a full queue, loading, the rate limit) are the service working as meant: debug, not info
    const level = error ? 'error' : reply.statusCode === 503 || reply.statusCode === 429 ? 'debug' : 'info';
    req.log[level](`${req.method} ${req.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(0)} ms`);
  }
}

export async function buildApp(config: Config, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // one line per request (the hooks below); readable on a terminal, JSON lines otherwise
    logger: opts.logger ?? {
      level: config.LOOKALIKE_LOG_LEVEL,
      transport: process.stdout.isTTY
        ? { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname,reqId' } }
        : undefined,
    },
    logController: new RequestLog(),
    bodyLimit: 1 << 20, // JSON bodies are small; uploads go through multipart with their own limit
    forceCloseConnections: 'idle', // on close: wait for requests in flight, drop idle keep-alive sockets
    frameworkErrors, // a malformed path (%ZZ) in the one error shape too
    clientErrorHandler: clientError, // and what Node's parser refuses: headers too large, a method that is not HTTP's
  }).withTypeProvider<ZodTypeProvider>();
  // first, so every route and hook registered after it is traced (when tracing is on)
  const tracing = tracingPlugin();
  if (tracing) await app.register(tracing);
  // every method Node parses reaches the router (Fastify knows nine), so one no route takes is a 405 or 404 of ours;
  // CONNECT never does (Node hands it to the server's 'connect' event)
  for (const method of METHODS) {
    if (method !== 'CONNECT' && !app.supportedMethods.includes(method)) app.addHttpMethod(method);
  }
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  registerErrorHandling(app, config.LOOKALIKE_MAX_UPLOAD_MB);

  const runtime = new Runtime(config, {
    info: (m) => app.log.info(m),
    warn: (m) => app.log.warn(m),
    error: (e, m) => app.log.error(e, m),
  });
  app.decorate('runtime', runtime);
  // a route that encodes or generates refuses while loading (503) and when the queue is full (503 busy), before its
  // upload is read
  app.addHook('preValidation', async (req) => {
    if (req.routeOptions.config.admitted) runtime.ready().queries.assertRoom();
  });
  // an empty query parameter (?threshold=) is one left out, as an empty form field is: its default applies
  app.addHook('preValidation', async (req) => {
    const query = req.query as Record<string, unknown>;
    for (const key of Object.keys(query)) if (query[key] === '') delete query[key];
  });
  await app.register(fastifyMultipart, {
    // the text fields' limits are set per route by readUpload (DEFAULT_FORM_LIMITS, or the route's formLimits)
    limits: { fileSize: Math.round(config.LOOKALIKE_MAX_UPLOAD_MB * 2 ** 20), files: 1 },
  });
  if (config.LOOKALIKE_RATE_LIMIT > 0) {
    await app.register(fastifyRateLimit, { max: config.LOOKALIKE_RATE_LIMIT, timeWindow: '1 minute' });
  }
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'lookalike',
        description:
          'Visual similarity search over Qwen3-VL embeddings: search by image or words, classify, add, describe',
        // a private package (package.json); the URL says what npm means by UNLICENSED
        version: VERSION,
        license: { name: 'UNLICENSED', url: 'https://docs.npmjs.com/cli/v11/configuring-npm/package-json#license' },
      },
      servers: [{ url: serverUrl(config.HOST, config.PORT), description: 'this server (HOST, PORT)' }],
      tags: [
        { name: 'search', description: 'Search by image or words, find similar, classify' },
        { name: 'gallery', description: "The gallery's images, and adds encoded by workers" },
        { name: 'vlm', description: 'The full vision-language model' },
        { name: 'service', description: 'Health, statistics, metrics' },
      ],
      // changes need the bearer key when one is set; reads say `security: []`
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'LOOKALIKE_API_KEY' } } },
    },
    // upload routes parse their multipart body themselves: their form is documented here, not validated by Fastify
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      restoreDefaults(input.schema?.querystring, out.schema.querystring);
      restoreDefaults(input.schema?.body, out.schema.body);
      const form = input.route.config?.form;
      return form
        ? { ...out, schema: { ...out.schema, body: formBodySchema(form, input.route.config?.imageOptional) } }
        : out;
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  // the page's few files as routes of their own (no wildcard): any other path is the API's JSON 404, never a file
  // lookup
  await app.register(fastifyStatic, {
    root: fileURLToPath(new URL('../../public/', import.meta.url)),
    prefix: '/',
    index: 'index.html',
    wildcard: false,
  });

  await app.register(healthRoutes);
  await app.register(probeRoutes);
  await app.register(searchRoutes);
  await app.register(imageRoutes);
  await app.register(statsRoutes);
  await app.register(describeRoutes);
  await app.register(metricsRoutes);
  await app.register(duplicateRoutes);
  await app.register(takeAwayRoutes);
  await app.register(trashRoutes);

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    runtime.metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    runtime.metrics.httpDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });

  // Closing: requests in flight finish, and their keep-alive sockets close with them instead of holding close() up.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => runtime.close());
  if (opts.startRuntime !== false)
    app.addHook('onReady', async () => {
      void runtime.start();
    });
  return app;
}

/** This server's URL for the OpenAPI document: a wildcard address is reached on loopback; IPv6 goes in brackets. */
export function serverUrl(host: string, port: number): string {
  const reached = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIPv6(reached) ? `[${reached}]` : reached}:${port}`;
}
