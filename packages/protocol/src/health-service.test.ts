import { credentials } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import {
  type HealthCheckResponse,
  HealthClient,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "./generated/grpc/health/v1/health.js";
import { startGrpcServer } from "./grpc-server.js";
import { createHealthService } from "./health-service.js";

describe("createHealthService", () => {
  it("streams status changes to Watch and ends the stream on close", async () => {
    const health = createHealthService({ "": "serving" });
    const server = await startGrpcServer({ services: [health.binding] });
    const client = new HealthClient(server.address, credentials.createInsecure());
    const stream = client.watch({ service: "" });
    const seen: ServingStatus[] = [];
    const ended = new Promise<void>((resolve) => stream.on("end", resolve));
    stream.on("data", (response: HealthCheckResponse) => {
      seen.push(response.status);
      if (seen.length === 1) health.setStatus("", "not-serving");
      if (seen.length === 2) health.close();
    });
    await ended;
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    const unknown = client.watch({ service: "other" });
    const first = await new Promise<HealthCheckResponse>((resolve) => unknown.once("data", resolve));
    expect(first.status).toBe(ServingStatus.SERVICE_UNKNOWN);
    unknown.cancel();
    unknown.on("error", () => {
      // Cancelling the stream reports CANCELLED: expected.
    });
    client.close();
    health.close();
    await server.shutdown(500);
  });
});
