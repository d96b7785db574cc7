import { writeFile } from "node:fs/promises";
import { createExecutorClient } from "@halo/protocol";
import { measureDeviceProfile } from "@halo/runtime";
import type { Command } from "commander";
import { CliError, InvalidInputError } from "../cli-error.js";
import type { CommandIo } from "../io.js";
import {
  checkExecutorsReachable,
  EXECUTOR_TOKEN_ENV,
  executorClientOptionsFromFlags,
  parseExecutorList,
} from "../run/remote-executors.js";
import type { RegisterCommand } from "./index.js";

interface ProfileFlags {
  readonly executors: string;
  readonly models: string;
  readonly out?: string;
  readonly quick?: boolean;
  readonly device?: string;
  readonly samples?: string;
  readonly tlsCa?: string;
  readonly executorTokenFile?: string;
}

/**
 * `halo profile --executors host:port,… --models a,b [--out profile.json]`:
 * measures a device profile from live executors (prefill at several prompt
 * lengths, decode steps at several batch sizes and contexts, free and under a
 * JSON-schema grammar, model load time, KV export/import) and writes the fitted profile as JSON, which `halo plan`
 * and `halo run` take with `--profile`.
 */
export const registerProfileCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  program
    .command("profile")
    .description("measure a device profile from live executors (JSON for --profile)")
    .requiredOption("--executors <host:port,...>", "executors to measure (one or more of the same kind)")
    .requiredOption("--models <names>", "comma-separated model names to measure")
    .option("--out <file>", "write the profile here instead of stdout")
    .option("--quick", "fewer, shorter measurements on the first executor only")
    .option("--device <name>", "the profile's device name")
    .option("--samples <file>", "also write every measurement (JSON)")
    .option("--tls-ca <file>", "connect with TLS, trusting this CA certificate (PEM)")
    .option("--executor-token-file <file>", `send this bearer token (default: $${EXECUTOR_TOKEN_ENV})`)
    .action(async (flags: ProfileFlags) => {
      const addresses = parseExecutorList(flags.executors);
      const models = flags.models
        .split(",")
        .map((model) => model.trim())
        .filter((model) => model.length > 0);
      if (models.length === 0) throw new InvalidInputError("--models: expected at least one model name");
      const clientOptions = await executorClientOptionsFromFlags(flags);
      await checkExecutorsReachable(addresses, undefined, undefined, { clientOptions, models });
      const clients = addresses.map((address) => createExecutorClient(address, clientOptions));
      let measured: Awaited<ReturnType<typeof measureDeviceProfile>>;
      try {
        measured = await measureDeviceProfile(clients, {
          models,
          quick: flags.quick ?? false,
          ...(flags.device === undefined ? {} : { device: flags.device }),
          onProgress: (message) => io.stderr(`halo profile: ${message}\n`),
        });
      } catch (error) {
        throw new CliError(`halo profile: ${(error as Error).message}`);
      } finally {
        for (const client of clients) client.close();
      }
      const json = `${JSON.stringify(measured.profile, null, 2)}\n`;
      if (flags.out) await writeFile(flags.out, json);
      else io.stdout(json);
      if (flags.samples) await writeFile(flags.samples, `${JSON.stringify(measured.samples, null, 2)}\n`);
      for (const [model, profile] of Object.entries(measured.profile.models)) {
        io.stderr(
          `halo profile: ${model}: load ${profile.loadMs.toFixed(0)} ms, prefill ${profile.prefill.fixedMs.toFixed(2)} ms + ` +
            `${profile.prefill.msPerToken.toFixed(3)} ms/token, decode step ${profile.decode.stepFixedMs.toFixed(2)} ms + ` +
            `${profile.decode.stepMsPerSequence.toFixed(3)} ms/sequence + ${profile.decode.stepMsPerContextToken.toExponential(2)} ms/context token` +
            (profile.structuredDecode
              ? `, JSON-schema decode step ${profile.structuredDecode.stepFixedMs.toFixed(2)} ms + ${profile.structuredDecode.stepMsPerSequence.toFixed(3)} ms/sequence`
              : ", JSON-schema decode not measured") +
            "\n",
        );
      }
      io.stderr(
        `halo profile: KV transfer ${(measured.profile.transferBytesPerSecond / 1e6).toFixed(1)} MB/s + ${measured.profile.transferFixedMs.toFixed(1)} ms\n`,
      );
    });
};
