/**
 * `@halo/protocol/internal`: wire conversions and plumbing the executor sidecar and the runtime's
 * client share (event and error-code mapping, gRPC error classification, keepalive options, the
 * bearer-token helpers). Not a stable contract; the main entry, `@halo/protocol`, is.
 */
export { bearerTokenOf, UNAUTHENTICATED_METHODS } from "./connection-security.js";
export { isServiceError, toExecutorCallError } from "./executor-call-error.js";
export { keepaliveChannelOptions } from "./executor-client.js";
export {
  errorCodeFromWire,
  errorCodeToWire,
  eventFromWire,
  eventToWire,
  generateRequestToWire,
} from "./executor-events.js";
export { healthStatusFromWire } from "./health-service.js";
