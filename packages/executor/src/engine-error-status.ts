import { Metadata, type StatusObject } from "@grpc/grpc-js";
import { ERROR_CODE_METADATA_KEY, type ExecutorErrorCode, GrpcStatus } from "@halo/protocol";
import { EngineError, type EngineErrorCode } from "./engine-v1.js";

/** The gRPC status each engine error code is reported with. */
export const STATUS_FOR_ENGINE_ERROR: Readonly<Record<EngineErrorCode, GrpcStatus>> = {
  "unknown-model": GrpcStatus.NOT_FOUND,
  "not-found": GrpcStatus.NOT_FOUND,
  "prompt-too-long": GrpcStatus.INVALID_ARGUMENT,
  "invalid-json-schema": GrpcStatus.INVALID_ARGUMENT,
  "over-limits": GrpcStatus.INVALID_ARGUMENT,
  "invalid-kv": GrpcStatus.DATA_LOSS,
  unsupported: GrpcStatus.UNIMPLEMENTED,
  internal: GrpcStatus.INTERNAL,
};

/** The engine error code a status most likely stands for, when the executor sent none. */
const ENGINE_ERROR_FOR_STATUS: Partial<Record<GrpcStatus, EngineErrorCode>> = {
  [GrpcStatus.NOT_FOUND]: "not-found",
  [GrpcStatus.INVALID_ARGUMENT]: "over-limits",
  [GrpcStatus.DATA_LOSS]: "invalid-kv",
  [GrpcStatus.UNIMPLEMENTED]: "unsupported",
};

/**
 * A gRPC status for any error thrown while serving: EngineErrors by code (the
 * code also travels in trailing metadata), aborts as CANCELLED, anything else
 * as INTERNAL.
 */
export function statusForError(error: unknown): Partial<StatusObject> {
  const metadata = new Metadata();
  if (error instanceof EngineError) {
    metadata.set(ERROR_CODE_METADATA_KEY, error.code);
    return { code: STATUS_FOR_ENGINE_ERROR[error.code], details: error.message, metadata };
  }
  if (error instanceof Error && error.name === "AbortError") {
    return { code: GrpcStatus.CANCELLED, details: "cancelled", metadata };
  }
  metadata.set(ERROR_CODE_METADATA_KEY, "internal");
  const message = error instanceof Error ? error.message : String(error);
  return { code: GrpcStatus.INTERNAL, details: `internal error: ${message}`, metadata };
}

/** An INVALID_ARGUMENT status for a malformed request (`code` names an engine error code when one fits). */
export function invalidArgument(details: string, code?: EngineErrorCode): Partial<StatusObject> {
  const metadata = new Metadata();
  if (code) metadata.set(ERROR_CODE_METADATA_KEY, code);
  return { code: GrpcStatus.INVALID_ARGUMENT, details, metadata };
}

/** The EngineError behind a failed executor call (for client-side adapters). */
export function engineErrorFromCall(
  code: GrpcStatus,
  details: string,
  errorCode?: ExecutorErrorCode,
): EngineError {
  return new EngineError(errorCode ?? ENGINE_ERROR_FOR_STATUS[code] ?? "internal", details);
}
