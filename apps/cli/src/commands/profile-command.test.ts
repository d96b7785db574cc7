import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle } from "@halo/executor";
import { H100_SIMULATED_PROFILE, parseDeviceProfile } from "@halo/profiles";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../main.js";
import { recordingIo } from "../test-io.js";

// Live executors over gRPC on loopback, replaying the simulated H100 (fast clock).
let servers: ExecutorServerHandle[];
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "halo-profile-"));
  servers = [];
  for (let index = 0; index < 2; index++) {
    servers.push(
      await createExecutorServer({
        engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.0005 }),
      }),
    );
  }
});

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close(100)));
  await rm(directory, { recursive: true, force: true });
});

describe("halo profile", () => {
  it("measures live executors and writes a profile halo plan can use", async () => {
    const out = join(directory, "measured.json");
    const samples = join(directory, "samples.json");
    const io = recordingIo();
    const code = await runCli(
      [
        "profile",
        "--executors",
        servers.map((server) => server.address).join(","),
        "--models",
        "Qwen/Qwen3-14B,Qwen/Qwen3-32B",
        "--quick",
        "--device",
        "simulated H100 (measured)",
        "--out",
        out,
        "--samples",
        samples,
      ],
      io,
    );
    expect(code, io.err()).toBe(0);
    const profile = parseDeviceProfile(JSON.parse(await readFile(out, "utf8")), out);
    expect(profile.device).toBe("simulated H100 (measured)");
    expect(Object.keys(profile.models).sort()).toEqual(["Qwen/Qwen3-14B", "Qwen/Qwen3-32B"]);
    const ratio =
      profile.models["Qwen/Qwen3-32B"]!.prefill.msPerToken /
      profile.models["Qwen/Qwen3-14B"]!.prefill.msPerToken;
    // The 32B model prefills about 32/14 times slower on the simulated device.
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.8);
    expect(io.err()).toContain("halo profile: Qwen/Qwen3-32B: load");
    expect(io.err()).toContain("JSON-schema decode step");
    expect(profile.models["Qwen/Qwen3-14B"]!.structuredDecode).toBeDefined();
    expect(JSON.parse(await readFile(samples, "utf8")).length).toBeGreaterThan(10);
    const plan = recordingIo();
    const example = new URL("../../../../examples/tpch-diamond.yaml", import.meta.url).pathname;
    expect(
      await runCli(
        [
          "plan",
          example,
          "--queries",
          "8",
          "--workers",
          "2",
          "--profile",
          out,
          "--out",
          join(directory, "plan.json"),
        ],
        plan,
      ),
      plan.err(),
    ).toBe(0);
  });

  it("refuses bad input before measuring", async () => {
    const noModels = recordingIo();
    expect(await runCli(["profile", "--executors", servers[0]!.address, "--models", " , "], noModels)).toBe(
      2,
    );
    expect(noModels.err()).toContain("--models: expected at least one model name");
    const badAddress = recordingIo();
    expect(await runCli(["profile", "--executors", "localhost", "--models", "m"], badAddress)).toBe(2);
    expect(badAddress.err()).toContain('"localhost" is not host:port');
    const unknownModel = recordingIo();
    expect(
      await runCli(
        ["profile", "--executors", servers[0]!.address, "--models", "nobody/unknown"],
        unknownModel,
      ),
    ).toBe(2);
    expect(unknownModel.err()).toContain('does not serve model "nobody/unknown"');
  });
});
