import { join } from "node:path";
import { PostgresStore } from "./postgres-store.js";
import type { ServerStore } from "./server-store.js";
import { SqliteStore } from "./sqlite-store.js";

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** A URL without its password, for logs and errors. */
export function describeStoreUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * Opens the store `reference` names: a `postgres://` URL, a SQLite file path,
 * or (undefined) `server.sqlite` under `homeDirectory` (`$HALO_HOME`).
 */
export async function openStore(reference: string | undefined, homeDirectory: string): Promise<ServerStore> {
  if (reference !== undefined && POSTGRES_URL.test(reference)) {
    return PostgresStore.open(reference, describeStoreUrl(reference));
  }
  return new SqliteStore(reference ?? join(homeDirectory, "server.sqlite"));
}
