import { openDuckDbFile, readGeneratedTables } from "./duckdb-file.js";
import { tableFingerprintSql } from "./table-schema.js";

/** Row count and content checksum of one table (see `tableFingerprintSql`). */
export interface TableChecksum {
  readonly table: string;
  readonly rowCount: number;
  readonly checksum: string;
}

/**
 * Checksums of every generated table in a DuckDB file (and of its
 * `halo_datasets` table). The same query runs on PostgreSQL, so a loaded copy
 * can be compared table by table.
 */
export async function duckdbTableChecksums(dbPath: string): Promise<TableChecksum[]> {
  const file = await openDuckDbFile(dbPath, { readOnly: true });
  try {
    const { tables } = await readGeneratedTables(file.connection, dbPath);
    const checksums: TableChecksum[] = [];
    for (const table of tables) {
      const reader = await file.connection.runAndReadAll(tableFingerprintSql(table));
      const [rowCount, checksum] = reader.getRows()[0] ?? [0, ""];
      checksums.push({ table: table.name, rowCount: Number(rowCount), checksum: String(checksum) });
    }
    return checksums;
  } finally {
    file.close();
  }
}
