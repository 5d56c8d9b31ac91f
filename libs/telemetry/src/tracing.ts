import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { currentRequest, inRequest, REQUEST_ID_HEADER, requestIdFrom } from './request-scope';

export { SpanKind } from '@opentelemetry/api';

/**
 * OpenTelemetry traces, off unless the standard variables ask for them (read by the cli):
 * `OTEL_TRACES_EXPORTER` `otlp` (OTLP over HTTP, JSON bodies, to `OTEL_EXPORTER_OTLP_ENDPOINT`
 * or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or `console`; `OTEL_SDK_DISABLED=true` turns them off
 * again. The exporter reads its own variables (endpoint, headers, timeout), the resource
 * `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`. Unlike the SDK's default (`otlp`),
 * nothing is exported when `OTEL_TRACES_EXPORTER` is unset: a registry that starts sending
 * spans to localhost:4318 after an upgrade would surprise its operator.
 */
export interface TracingSettings {
  /** `OTEL_TRACES_EXPORTER`, a comma-separated list. */
  exporters: string | undefined;
  /** `OTEL_SDK_DISABLED`. */
  disabled: string | undefined;
  /** `service.name` unless `OTEL_SERVICE_NAME` says otherwise: `berth-gateway`, `berth`… */
  serviceName: string;
  /** A test's own processor (an in-memory exporter's), used instead of the named exporters. */
  spanProcessors?: SpanProcessor[];
}

let tracer: Tracer | undefined;
let provider: NodeTracerProvider | undefined;

/** Starts tracing when the settings ask for it; returns what flushes and stops it. */
export function startTracing(settings: TracingSettings): () => Promise<void> {
  const names = (settings.exporters ?? '').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '' && name !== 'none');
  const processors = settings.spanProcessors ?? names.map((name) => new BatchSpanProcessor(exporterNamed(name)));
  if (settings.disabled?.toLowerCase() === 'true' || processors.length === 0) return async () => undefined;
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': settings.serviceName }))
    .merge(detectResources({ detectors: [envDetector] }));
  provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  // The AsyncLocalStorage context manager and the W3C trace-context propagator.
  provider.register();
  tracer = trace.getTracer('berth');
  const stopping = provider;
  return async () => {
    tracer = undefined;
    provider = undefined;
    await stopping.shutdown();
  };
}

function exporterNamed(name: string) {
  switch (name) {
    case 'otlp':
      return new OTLPTraceExporter();
    case 'console':
      return new ConsoleSpanExporter();
    default:
      throw new Error(`OTEL_TRACES_EXPORTER: "${name}" is not one of: otlp, console, none`);
  }
}

/** Whether spans are being recorded: lets the hot path skip building their attributes. */
export function tracingOn(): boolean {
  return tracer !== undefined;
}

/** A span's ids as a log line carries them. */
export interface TraceIds {
  trace_id: string;
  span_id: string;
}

/** The active span's ids for a log line, when tracing is on. */
export function activeTraceIds(): TraceIds | undefined {
  if (!tracer) return undefined;
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * Runs `work` in a span (a child of the active one) when tracing is on, else just runs it.
 * A rejection marks the span as an error.
 */
export async function inSpan<T>(name: string, kind: SpanKind, attributes: Record<string, string | number>, work: (span?: Span) => Promise<T>): Promise<T> {
  if (!tracer) return work();
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Starts a span that the caller ends (an HTTP request, ended when its response is). */
export function startSpan(name: string, kind: SpanKind, attributes: Record<string, string | number>, carrier?: Record<string, unknown>): Span | undefined {
  if (!tracer) return undefined;
  const parent = carrier ? propagation.extract(ROOT_CONTEXT, carrier) : context.active();
  return tracer.startSpan(name, { kind, attributes }, parent);
}

/** Runs `work` with `span` as the active one (no-op without a span). */
export function withActiveSpan<T>(span: Span | undefined, work: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), work) : work();
}

/**
 * What a message to another service carries of this request: its id and, when tracing, the
 * W3C `traceparent`/`tracestate` of the active span. Header names, so the same object is the
 * headers of the upload listener's requests and a field of the Redis bus's envelopes.
 */
export function carrierOf(): Record<string, string> {
  const carrier: Record<string, string> = {};
  const request = currentRequest();
  if (request) carrier[REQUEST_ID_HEADER] = request.id;
  if (tracer) propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * The receiving side of {@link carrierOf}: runs `work` as part of the caller's request (its
 * id on every line) inside a span that continues the caller's trace.
 */
export function inCarried<T>(carrier: Record<string, unknown> | undefined, spanName: string, work: () => Promise<T>): Promise<T> {
  const id = carrier?.[REQUEST_ID_HEADER];
  const traced = (): Promise<T> => {
    if (!tracer || !carrier) return inSpan(spanName, SpanKind.SERVER, {}, work);
    return context.with(propagation.extract(ROOT_CONTEXT, carrier), () => inSpan(spanName, SpanKind.SERVER, {}, work));
  };
  return typeof id === 'string' ? inRequest({ id: requestIdFrom(id) }, traced) : traced();
}
