export { countedBodies, instrumentRequests, goDuration, type RequestTelemetryOptions } from './access-log';
export { BerthLogger, type BerthLoggerOptions, type StructuredMessage } from './berth-logger';
export { formatEntry, type LogEntry, type LogFormatter, type LogLevelName } from './log-format';
export { pathKind, type PathKind, slowStorageLog, tracedDriver } from './observed-driver';
export { RpcErrorFilter } from './rpc-error.filter';
export { currentRequest, inRequest, REQUEST_ID_HEADER, requestIdFrom, type RequestScope } from './request-scope';
export {
  activeTraceIds,
  carrierOf,
  inCarried,
  inSpan,
  SpanKind,
  startSpan,
  startTracing,
  type TracingSettings,
  tracingOn,
  withActiveSpan,
} from './tracing';
