import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineError, type KvEntryInfo } from "@halo/executor";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { decodeKvEnvelope, encodeKvEnvelope, InvalidKvEnvelopeError } from "./kv-envelope.js";
import type { LoadedModel } from "./model-lifecycle.js";
import { commonPrefixLength } from "./prompt-tokens.js";
import { InvalidSequenceStateError, parseSequenceState, reframeSequenceState } from "./sequence-state.js";

/** A cached KV: the tokens a sequence state file holds, under a key. */
export interface KvEntry {
  readonly key: string;
  readonly model: string;
  readonly tokens: readonly Token[];
  readonly statePath: string;
  readonly bytes: number;
}

/** An import's envelope, read and checked as far as it can be without the model. */
export interface DecodedKvImport {
  readonly key: string;
  readonly header: ReturnType<typeof decodeKvEnvelope>["header"];
  readonly payload: Uint8Array;
  readonly tokens: Uint32Array;
}

/**
 * KV state on disk: cached prefixes as llama.cpp sequence state files (in a temporary
 * directory), prefix evaluation and reuse, and export/import envelopes.
 */
export class KvStateStore {
  private readonly entries = new Map<string, KvEntry>();
  private directory: Promise<string> | undefined;
  private fileCounter = 0;

  constructor(private readonly automaticPrefixReuse: boolean) {}

  get(key: string): KvEntry | undefined {
    return this.entries.get(key);
  }

  infos(): KvEntryInfo[] {
    return [...this.entries.values()].map(entryInfo);
  }

  /** The envelope `doExportKv` streams for `key`: the state rewritten to one KV stream. */
  async exportEnvelope(
    key: string,
    loadedModel: (name: string) => LoadedModel | undefined,
  ): Promise<Uint8Array> {
    const entry = this.entries.get(key);
    if (!entry) throw new EngineError("not-found", `no KV is cached under key "${key}"`);
    const loaded = loadedModel(entry.model);
    if (!loaded) throw new EngineError("not-found", `the model of KV key "${key}" is not loaded`);
    const state = await readFile(entry.statePath);
    return encodeKvEnvelope(
      { model: entry.model, modelFingerprint: loaded.fingerprint, tokens: entry.tokens.length },
      reframeSequenceState(state, 1),
    );
  }

  /** Reads an import's envelope and checks it names `model`; the rest is checked by `importState`. */
  decodeImport(key: string, model: string, bytes: Uint8Array): DecodedKvImport {
    let decoded: ReturnType<typeof decodeKvEnvelope>;
    let tokens: Uint32Array;
    try {
      decoded = decodeKvEnvelope(bytes);
      tokens = parseSequenceState(decoded.payload).tokens;
    } catch (error) {
      if (error instanceof InvalidKvEnvelopeError || error instanceof InvalidSequenceStateError) {
        throw new EngineError("invalid-kv", `KV import for key "${key}": ${error.message}`);
      }
      throw error;
    }
    const { header, payload } = decoded;
    if (header.model !== model) {
      throw new EngineError(
        "invalid-kv",
        `KV import for key "${key}": the bytes hold KV of model "${header.model}", not "${model}"`,
      );
    }
    return { key, header, payload, tokens };
  }

  /** Checks an import against the loaded model, lets llama.cpp load it, and caches it. */
  async importState(imported: DecodedKvImport, loaded: LoadedModel): Promise<KvEntryInfo> {
    const { key, header, payload, tokens } = imported;
    if (header.modelFingerprint !== loaded.fingerprint) {
      throw new EngineError(
        "invalid-kv",
        `KV import for key "${key}": the bytes come from other weights than this engine's "${loaded.name}"`,
      );
    }
    const vocabularySize = loaded.vocabularySize;
    if (tokens.length !== header.tokens) {
      throw new EngineError(
        "invalid-kv",
        `KV import for key "${key}": the state holds ${tokens.length} tokens, its header says ${header.tokens}`,
      );
    }
    if (tokens.length < 1 || tokens.length >= loaded.contextLength) {
      throw new EngineError(
        "invalid-kv",
        `KV import for key "${key}": ${tokens.length} tokens do not fit a context of ${loaded.contextLength}`,
      );
    }
    if (tokens.some((token) => token >= vocabularySize)) {
      throw new EngineError("invalid-kv", `KV import for key "${key}": a token id is out of the vocabulary`);
    }
    const statePath = await this.newStatePath();
    const state = reframeSequenceState(payload, loaded.sequences.length);
    await writeFile(statePath, state);
    // llama.cpp checks the KV layout (layers, types, row sizes) while loading; a
    // sequence that fails to load is left empty.
    const sequence = loaded.sequences[0]!;
    try {
      await sequence.clearHistory();
      await sequence.loadStateFromFile(statePath, { acceptRisk: true });
    } catch (error) {
      await sequence.clearHistory().catch(() => undefined);
      await rm(statePath, { force: true });
      throw new EngineError(
        "invalid-kv",
        `KV import for key "${key}": llama.cpp rejected the state (${(error as Error).message})`,
      );
    }
    const entry: KvEntry = {
      key,
      model: loaded.name,
      tokens: Array.from(tokens) as Token[],
      statePath,
      bytes: state.length,
    };
    await this.replace(entry);
    return entryInfo(entry);
  }

  /** Drops the KV under `key`; returns the entry dropped, if any. */
  async drop(key: string): Promise<KvEntry | undefined> {
    const entry = this.entries.get(key);
    if (entry) await this.remove(entry);
    return entry;
  }

  /** Drops every entry of `model` (cached prefixes live as long as their model, the EngineV1 contract). */
  async dropModel(model: string): Promise<void> {
    for (const entry of [...this.entries.values()]) if (entry.model === model) await this.remove(entry);
  }

  /** Removes the state directory and forgets every entry. */
  async close(): Promise<void> {
    if (this.directory) await rm(await this.directory, { recursive: true, force: true });
    this.entries.clear();
  }

  /**
   * The KV entry of a shared prefix: reused when cached for these tokens, else the
   * prefix is evaluated once (in the sequence holding most of it) and saved.
   */
  async ensurePrefix(
    loaded: LoadedModel,
    key: string,
    tokens: readonly Token[],
  ): Promise<{ entry: KvEntry; prefilledTokens: number }> {
    const cached = this.entries.get(key);
    if (
      cached &&
      cached.model === loaded.name &&
      cached.tokens.length === tokens.length &&
      commonPrefixLength(cached.tokens, tokens) === tokens.length
    ) {
      return { entry: cached, prefilledTokens: 0 };
    }
    let sequence = loaded.sequences[0]!;
    let held = 0;
    if (this.automaticPrefixReuse) {
      for (const candidate of loaded.sequences) {
        const candidateHeld = candidate.compareContextTokens(tokens as Token[]).firstDifferentIndex;
        if (candidateHeld > held) {
          sequence = candidate;
          held = candidateHeld;
        }
      }
    }
    // The last token is evaluated again when the whole prefix is held, so the state is saved after a real evaluation.
    held = Math.min(held, tokens.length - 1);
    await sequence.eraseContextTokenRanges([{ start: held, end: sequence.nextTokenIndex }]);
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(held) as Token[]);
    const statePath = await this.newStatePath();
    const { fileSize } = await sequence.saveStateToFile(statePath);
    const entry: KvEntry = { key, model: loaded.name, tokens: [...tokens], statePath, bytes: fileSize };
    await this.replace(entry);
    return { entry, prefilledTokens: tokens.length - held };
  }

  /** Leaves `sequence` holding the longest cached start of `tokens`; returns how many tokens that is. */
  async prepareSequence(
    sequence: LlamaContextSequence,
    tokens: readonly Token[],
    prefix: KvEntry | undefined,
  ): Promise<number> {
    const held = sequence.compareContextTokens(tokens as Token[]).firstDifferentIndex;
    const fromPrefix = prefix ? commonPrefixLength(prefix.tokens, tokens) : 0;
    const heldUsable = this.automaticPrefixReuse ? held : Math.min(held, fromPrefix);
    // At least the last prompt token is evaluated: its logits choose the first generated token.
    const reuse = Math.min(Math.max(heldUsable, fromPrefix), tokens.length - 1);
    if (reuse > heldUsable) {
      await sequence.clearHistory();
      await sequence.loadStateFromFile(prefix!.statePath, { acceptRisk: true });
    }
    if (sequence.nextTokenIndex > reuse) {
      await sequence.eraseContextTokenRanges([{ start: reuse, end: sequence.nextTokenIndex }]);
    }
    return reuse;
  }

  private async newStatePath(): Promise<string> {
    this.directory ??= mkdtemp(join(tmpdir(), "halo-kv-"));
    this.fileCounter += 1;
    return join(await this.directory, `prefix-${this.fileCounter}.state`);
  }

  private async replace(entry: KvEntry): Promise<void> {
    const previous = this.entries.get(entry.key);
    if (previous) await this.remove(previous);
    this.entries.set(entry.key, entry);
  }

  private async remove(entry: KvEntry): Promise<void> {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    await rm(entry.statePath, { force: true });
  }
}

function entryInfo(entry: KvEntry): KvEntryInfo {
  return { key: entry.key, model: entry.model, tokens: entry.tokens.length, bytes: entry.bytes };
}
