import type { KvEntryInfo } from "./engine-v1.js";

/** A prefix cached in the engine, as the sidecar tracks it. */
export interface TrackedKvEntry {
  readonly key: string;
  readonly model: string;
  readonly tokens: number;
  readonly bytes: number;
}

/**
 * The sidecar's view of the engine's prefix KV cache: entries in least- to
 * most-recently-used order, and which of them to evict to stay under a byte
 * budget. It does arithmetic only; the server drops the victims through the
 * engine (`doDropKv`) and reports back with `remove`.
 */
export class KvStore {
  /** Insertion order is recency order: `touch` moves an entry to the end. */
  private readonly entries = new Map<string, TrackedKvEntry>();
  /** Digest of the text each key was created from (unknown for imported keys). */
  private readonly textDigests = new Map<string, string>();
  private evictionCount = 0;

  constructor(readonly budgetBytes: number) {
    if (!(budgetBytes >= 0)) throw new RangeError(`KV budget must be >= 0 bytes, got ${budgetBytes}`);
  }

  get totalBytes(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.bytes;
    return total;
  }

  get evictions(): number {
    return this.evictionCount;
  }

  /** Entries, least recently used first. */
  list(): readonly TrackedKvEntry[] {
    return [...this.entries.values()];
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /**
   * Adopts the engine's entries: sizes are the engine's, entries it no longer
   * holds are forgotten, new ones become the most recently used.
   */
  sync(engineEntries: readonly KvEntryInfo[]): void {
    const present = new Set(engineEntries.map((entry) => entry.key));
    for (const key of [...this.entries.keys()]) if (!present.has(key)) this.entries.delete(key);
    // Map.set keeps the position of a known key: sizes update, recency does not.
    for (const entry of engineEntries) {
      this.entries.set(entry.key, {
        key: entry.key,
        model: entry.model,
        tokens: entry.tokens,
        bytes: entry.bytes,
      });
    }
  }

  /** Marks `key` as just used. */
  touch(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
  }

  /**
   * Records the text digest a key stands for; false when the key already
   * stands for another text (a client error: keys must identify their text).
   */
  claimText(key: string, textDigest: string): boolean {
    const known = this.textDigests.get(key);
    if (known !== undefined && known !== textDigest) return false;
    this.textDigests.set(key, textDigest);
    return true;
  }

  /**
   * Keys to evict, least recently used first, until the total fits the
   * budget. Keys in `protectedKeys` (wanted by queued work) go last.
   */
  victims(protectedKeys: ReadonlySet<string> = new Set()): string[] {
    let excess = this.totalBytes - this.budgetBytes;
    if (excess <= 0) return [];
    const ordered = [
      ...this.list().filter((entry) => !protectedKeys.has(entry.key)),
      ...this.list().filter((entry) => protectedKeys.has(entry.key)),
    ];
    const chosen: string[] = [];
    for (const entry of ordered) {
      if (excess <= 0) break;
      chosen.push(entry.key);
      excess -= entry.bytes;
    }
    return chosen;
  }

  /** Forgets `key` after the engine dropped it; `evicted` counts it as an eviction. */
  remove(key: string, evicted = false): void {
    if (!this.entries.has(key) && !this.textDigests.has(key)) return;
    this.entries.delete(key);
    this.textDigests.delete(key);
    if (evicted) this.evictionCount++;
  }
}
