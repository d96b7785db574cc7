import {
  status as GrpcStatus,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthService,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "./generated/grpc/health/v1/health.js";
import type { GrpcServiceBinding } from "./grpc-server.js";

/** Serving status of a service, as the health protocol reports it. */
export type HealthStatus = "serving" | "not-serving" | "unknown" | "service-unknown";

const TO_WIRE: Readonly<Record<HealthStatus, ServingStatus>> = {
  serving: ServingStatus.SERVING,
  "not-serving": ServingStatus.NOT_SERVING,
  unknown: ServingStatus.UNKNOWN,
  "service-unknown": ServingStatus.SERVICE_UNKNOWN,
};

/** The HealthStatus of a wire serving status. */
export function healthStatusFromWire(value: ServingStatus): HealthStatus {
  switch (value) {
    case ServingStatus.SERVING:
      return "serving";
    case ServingStatus.NOT_SERVING:
      return "not-serving";
    case ServingStatus.SERVICE_UNKNOWN:
      return "service-unknown";
    default:
      return "unknown";
  }
}

/** The standard grpc.health.v1.Health service with settable statuses. */
export interface HealthServiceHandle {
  readonly binding: GrpcServiceBinding;
  /** Sets the status of `service` ("" is the server as a whole) and notifies watchers. */
  setStatus(service: string, status: HealthStatus): void;
  /** Ends every Watch stream (call before shutting the server down, or it waits for them). */
  close(): void;
}

/** Creates a health service; `statuses` are the initial statuses by service name. */
export function createHealthService(
  statuses: Readonly<Record<string, HealthStatus>> = {},
): HealthServiceHandle {
  const current = new Map<string, HealthStatus>(Object.entries(statuses));
  const watchers = new Set<{
    service: string;
    call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;
  }>();
  const response = (service: string): HealthCheckResponse => ({
    status: TO_WIRE[current.get(service) ?? "service-unknown"],
  });
  const implementation: UntypedServiceImplementation = {
    check(
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ) {
      const service = call.request.service;
      if (!current.has(service)) {
        callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service "${service}"` });
        return;
      }
      callback(null, response(service));
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) {
      const watcher = { service: call.request.service, call };
      watchers.add(watcher);
      call.on("cancelled", () => watchers.delete(watcher));
      call.write(response(watcher.service));
    },
  };
  return {
    binding: { definition: HealthService, implementation },
    setStatus(service, status) {
      const previous = current.get(service);
      current.set(service, status);
      if (previous === status) return;
      for (const watcher of watchers) {
        if (watcher.service === service) watcher.call.write(response(service));
      }
    },
    close() {
      for (const watcher of watchers) watcher.call.end();
      watchers.clear();
    },
  };
}
