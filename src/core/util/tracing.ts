// OpenTelemetry tracing, on when the standard variables ask for it (an OTLP endpoint, and OTEL_SDK_DISABLED not
// `true`): spans go to that endpoint as OTLP/HTTP JSON. Off, no OpenTelemetry module is loaded (they are imported
// only here, dynamically, after the check) and span() is a plain call, so code that traces stays plain code.
// A trace crosses processes in a carrier (W3C traceparent): a job carries its request's, a result its worker's.
import type { Attributes, Span, Tracer } from '@opentelemetry/api';
import type { FastifyPluginCallback } from 'fastify';

/** W3C trace context headers (`traceparent`, `tracestate`), as a job carries them. */
export type TraceCarrier = Record<string, string>;

interface Tracing {
  api: typeof import('@opentelemetry/api');
  tracer: Tracer;
  fastifyPlugin: FastifyPluginCallback;
  shutdown(): Promise<void>;
}

let tracing: Tracing | null = null;

/** Paths polled by probes and scrapers: traced, they would bury the requests worth looking at. */
const UNTRACED_PATHS = new Set(['/livez', '/readyz', '/api/health', '/metrics']);

/** Whether the environment asks for tracing: an OTLP endpoint is set and the SDK is not disabled. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
}

/**
 * Starts tracing for this process when the environment asks for it; a description of where spans go, or null (off).
 * `serviceName` applies unless OTEL_SERVICE_NAME is set.
 */
export async function startTracing(serviceName: string): Promise<string | null> {
  const env = process.env; // the SDK reads its variables from there too
  if (tracing || !tracingRequested(env)) return null;
  const [api, { NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, resources, fastifyOtel] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@fastify/otel'),
    ]);
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the default name
  const resource = resources.resourceFromAttributes({ 'service.name': serviceName }).merge(
    resources.detectResources({
      detectors: [resources.envDetector, resources.hostDetector, resources.processDetector],
    }),
  );
  // the exporter reads the endpoint, headers and timeout from the OTEL_EXPORTER_OTLP_* variables itself
  const exporter = new OTLPTraceExporter();
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register(); // the global provider, the async-hooks context manager and the W3C propagator
  const otel = new fastifyOtel.FastifyOtelInstrumentation({ ignorePaths: ({ url }) => UNTRACED_PATHS.has(url) });
  otel.setTracerProvider(provider);
  tracing = {
    api,
    tracer: api.trace.getTracer('lookalike'),
    fastifyPlugin: otel.plugin() as FastifyPluginCallback,
    shutdown: () => provider.shutdown(),
  };
  const endpoint =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || `${env.OTEL_EXPORTER_OTLP_ENDPOINT!.replace(/\/$/, '')}/v1/traces`;
  return `tracing: spans of ${resource.attributes['service.name']} go to ${endpoint} (OTLP/HTTP JSON)`;
}

/** Sends the spans not yet sent and stops tracing (a process calls it as it closes). */
export async function stopTracing(): Promise<void> {
  const t = tracing;
  tracing = null;
  await t?.shutdown();
}

/** The Fastify plugin that traces each request (@fastify/otel), or null when tracing is off. */
export function tracingPlugin(): FastifyPluginCallback | null {
  return tracing?.fastifyPlugin ?? null;
}

/** Runs `fn` inside a span named `name` (a child of the active one); with tracing off, just runs it. A throw or a
 *  rejection marks the span as failed. */
export function span<T>(name: string, fn: () => T, attributes?: Attributes): T {
  if (!tracing) return fn();
  const { api } = tracing;
  return tracing.tracer.startActiveSpan(name, { attributes }, (s: Span) => {
    const failed = (err: unknown) => {
      s.recordException(err instanceof Error ? err : String(err));
      s.setStatus({ code: api.SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      s.end();
      throw err;
    };
    let result: T;
    try {
      result = fn();
    } catch (err) {
      return failed(err);
    }
    if (result instanceof Promise)
      return result.then((v) => {
        s.end();
        return v;
      }, failed) as T;
    s.end();
    return result;
  });
}

/** The active trace context as a carrier to send with a job; undefined with tracing off (the job carries nothing). */
export function traceCarrier(): TraceCarrier | undefined {
  if (!tracing) return undefined;
  const carrier: TraceCarrier = {};
  tracing.api.propagation.inject(tracing.api.context.active(), carrier);
  return carrier;
}

/** Runs `fn` in the trace a carrier came from (spans started in it are that trace's); without one, just runs it. */
export function inTrace<T>(carrier: TraceCarrier | undefined, fn: () => T): T {
  if (!tracing || !carrier) return fn();
  const { api } = tracing;
  return api.context.with(api.propagation.extract(api.ROOT_CONTEXT, carrier), fn);
}
