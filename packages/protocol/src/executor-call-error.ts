import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";

/** A failed call to an executor: the gRPC status code, the method and the executor's address. */
export class ExecutorCallError extends Error {
  constructor(
    /** gRPC status code (`GrpcStatus.UNAVAILABLE`, …). */
    readonly code: GrpcStatus,
    /** The status details sent by the server (or by the client library). */
    readonly details: string,
    readonly method: string,
    readonly address: string,
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
  if (isServiceError(error)) return new ExecutorCallError(error.code, error.details, method, address);
  const message = error instanceof Error ? error.message : String(error);
  return new ExecutorCallError(GrpcStatus.INTERNAL, message, method, address);
}
