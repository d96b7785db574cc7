import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { ExecutorErrorCode } from "./executor-events.js";

/** Trailing-metadata key in which executors send the engine error code of a failed call. */
export const ERROR_CODE_METADATA_KEY = "halo-error-code";

const ERROR_CODES: ReadonlySet<string> = new Set<ExecutorErrorCode>([
  "unknown-model",
  "prompt-too-long",
  "invalid-json-schema",
  "invalid-kv",
  "over-limits",
  "not-found",
  "unsupported",
  "internal",
]);

/** A failed call to an executor: the gRPC status code, the method and the executor's address. */
export class ExecutorCallError extends Error {
  constructor(
    /** gRPC status code (`GrpcStatus.UNAVAILABLE`, …). */
    readonly code: GrpcStatus,
    /** The status details sent by the server (or by the client library). */
    readonly details: string,
    readonly method: string,
    readonly address: string,
    /** The engine error code behind the status, when the executor sent one. */
    readonly errorCode?: ExecutorErrorCode,
  ) {
    super(`executor ${address}: ${method} failed: ${GrpcStatus[code] ?? `status ${code}`}: ${details}`);
    this.name = "ExecutorCallError";
  }
}

/** True for the errors gRPC libraries raise: they carry a numeric `code` and `details`. */
export function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === "number" &&
    typeof (error as Partial<ServiceError>).details === "string"
  );
}

/** Wraps any error thrown by a gRPC call into an ExecutorCallError. */
export function toExecutorCallError(error: unknown, method: string, address: string): ExecutorCallError {
  if (error instanceof ExecutorCallError) return error;
  if (isServiceError(error)) {
    const sent = error.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
    const errorCode =
      typeof sent === "string" && ERROR_CODES.has(sent) ? (sent as ExecutorErrorCode) : undefined;
    return new ExecutorCallError(error.code, error.details, method, address, errorCode);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ExecutorCallError(GrpcStatus.INTERNAL, message, method, address);
}
