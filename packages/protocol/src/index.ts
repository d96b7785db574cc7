export { status as GrpcStatus } from "@grpc/grpc-js";
export {
  AUTHORIZATION_METADATA_KEY,
  bearerTokenInterceptor,
  type ExecutorConnectionSecurity,
  exposedBindProblem,
  InvalidTokenError,
  isLoopbackHost,
  MIN_TOKEN_LENGTH,
  readTokenFile,
  type ServerProtection,
  type ServerSecurity,
  tokenMatches,
  tokenProblem,
} from "./connection-security.js";
export {
  ERROR_CODE_METADATA_KEY,
  ExecutorCallError,
} from "./executor-call-error.js";
export {
  createExecutorClient,
  DEFAULT_DEADLINES_MS,
  DEFAULT_KEEPALIVE,
  DEFAULT_RETRY,
  type ExecutorCallOptions,
  type ExecutorClient,
  type ExecutorClientOptions,
  type ExecutorMethod,
  type KeepaliveOptions,
  type RetryOptions,
} from "./executor-client.js";
export type {
  ExecutorErrorCode,
  ExecutorEvent,
  GenerateInput,
  GenerateItemInput,
} from "./executor-events.js";
export {
  HealthCheckResponse_ServingStatus as HealthServingStatus,
  HealthService,
} from "./generated/grpc/health/v1/health.js";
export {
  type BatchFigures,
  type BatchFinished,
  type DropKvRequest,
  type DropKvResponse,
  ErrorCode,
  type ExecutorServer,
  ExecutorService,
  type ExportKvRequest,
  FinishReason,
  type GenerateEvent,
  type GenerateItem,
  type GenerateRequest,
  type ImportKvHeader,
  type ImportKvRequest,
  type ImportKvResponse,
  type InfoRequest,
  type InfoResponse,
  type ItemFailed,
  type ItemFigures,
  type ItemFinished,
  type KvChunk,
  type KvEntry,
  type LoadModelRequest,
  type LoadModelResponse,
  type ModelDescriptor,
  type SharedPrefix,
  type SidecarStats,
  type StatsRequest,
  type StatsResponse,
  type TokenEvent,
} from "./generated/halo/executor/v1/executor.js";
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  type GrpcServerHandle,
  type GrpcServiceBinding,
  SERVER_KEEPALIVE_OPTIONS,
  type StartGrpcServerOptions,
  startGrpcServer,
} from "./grpc-server.js";
export {
  createHealthService,
  type HealthServiceHandle,
  type HealthStatus,
} from "./health-service.js";
