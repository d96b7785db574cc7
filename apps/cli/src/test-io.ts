/** Test helper: a CommandIo that records what a CLI run prints. */
import type { CommandIo } from "./io.js";

export function recordingIo(): CommandIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: (text) => {
      out += text;
    },
    stderr: (text) => {
      err += text;
    },
    isTty: false,
    out: () => out,
    err: () => err,
  };
}
