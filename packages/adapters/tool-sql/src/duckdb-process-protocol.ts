/** Messages between `DuckDbProcessSqlTool` and its child process (`duckdb-process-main.ts`). */
import type { SqlToolErrorCode } from "./sql-tool-error.js";

/** Parent → child: a call (answered under its id), an abort of one, or close. */
export type ParentMessage =
  | { readonly op: "query" | "prepare"; readonly id: number; readonly request: unknown }
  | { readonly op: "check" | "abort" | "close"; readonly id: number };

/** Child → parent: a call's value or its error (code and message); id 0 says the child is ready. */
export type ChildMessage =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly code: SqlToolErrorCode; readonly message: string };
