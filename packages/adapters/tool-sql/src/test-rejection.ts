import type { SqlToolError } from "./sql-tool-error.js";

/** The error a call fails with (tests): throws when it does not fail. */
export async function rejection(promise: Promise<unknown>): Promise<SqlToolError> {
  try {
    await promise;
  } catch (error) {
    return error as SqlToolError;
  }
  throw new Error("expected the call to fail");
}
