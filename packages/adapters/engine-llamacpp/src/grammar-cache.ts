import type { LlamaGrammar } from "node-llama-cpp";
import { parseJsonSchemaText } from "./json-schema-text.js";
import { getLlamaRuntime, type LlamaGpu } from "./llama-runtime.js";

/** Grammars kept at once; the oldest goes first. */
const maxGrammars = 64;

/**
 * JSON-schema grammars by schema text, built once (node-llama-cpp compiles a schema into a
 * GBNF grammar). A schema that fails to parse or compile is not kept: it fails again next time.
 */
export class GrammarCache {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  constructor(
    private readonly threads: number,
    private readonly gpu: LlamaGpu,
  ) {}

  /** The grammar of `schemaText`; throws `InvalidJsonSchemaError` for a schema it cannot read. */
  grammarFor(schemaText: string): Promise<LlamaGrammar> {
    let grammar = this.grammars.get(schemaText);
    if (!grammar) {
      const schema = parseJsonSchemaText(schemaText);
      grammar = getLlamaRuntime(this.threads, this.gpu).then((llama) =>
        llama.createGrammarForJsonSchema(schema as Parameters<typeof llama.createGrammarForJsonSchema>[0]),
      );
      if (this.grammars.size >= maxGrammars) this.grammars.delete(this.grammars.keys().next().value!);
      this.grammars.set(schemaText, grammar);
      grammar.catch(() => this.grammars.delete(schemaText));
    }
    return grammar;
  }
}
