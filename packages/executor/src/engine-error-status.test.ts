import { ERROR_CODE_METADATA_KEY, GrpcStatus } from "@halo/protocol";
import { describe, expect, it } from "vitest";
import { engineErrorFromCall, statusForError } from "./engine-error-status.js";
import { EngineError } from "./engine-v1.js";

describe("engine error statuses", () => {
  it.each([
    ["unknown-model", GrpcStatus.NOT_FOUND],
    ["not-found", GrpcStatus.NOT_FOUND],
    ["prompt-too-long", GrpcStatus.INVALID_ARGUMENT],
    ["invalid-json-schema", GrpcStatus.INVALID_ARGUMENT],
    ["over-limits", GrpcStatus.INVALID_ARGUMENT],
    ["invalid-kv", GrpcStatus.DATA_LOSS],
    ["internal", GrpcStatus.INTERNAL],
  ] as const)("maps %s to status %i and sends the code", (code, status) => {
    const result = statusForError(new EngineError(code, "because"));
    expect(result.code).toBe(status);
    expect(result.details).toBe("because");
    expect(result.metadata?.get(ERROR_CODE_METADATA_KEY)).toEqual([code]);
    expect(engineErrorFromCall(status, "because", code)).toMatchObject({ code, message: "because" });
  });

  it("reports aborts as CANCELLED and other errors as INTERNAL", () => {
    expect(statusForError(new DOMException("stop", "AbortError")).code).toBe(GrpcStatus.CANCELLED);
    expect(statusForError(new TypeError("boom"))).toMatchObject({
      code: GrpcStatus.INTERNAL,
      details: "internal error: boom",
    });
  });

  it("guesses the engine code of a status without one", () => {
    expect(engineErrorFromCall(GrpcStatus.DATA_LOSS, "x").code).toBe("invalid-kv");
    expect(engineErrorFromCall(GrpcStatus.UNAVAILABLE, "x").code).toBe("internal");
  });
});
