import { ASSISTANT_TURN, parseChatPrompt } from "@halo/executor";
import type { ChatHistoryItem, ChatWrapper, LlamaModel, Token } from "node-llama-cpp";

/** What tokenizing a prompt needs of a loaded model. */
export interface PromptModel {
  readonly model: LlamaModel;
  readonly chatWrapper?: ChatWrapper;
}

// Continuations used to find the prefix tokens that never change whatever text follows:
// the last word of a prefix may merge with the text after it.
const prefixBoundaryProbes = ["x", "X", "1", ".", ",", "'s", "-", " x", "\n", "é", "日"];

/** How many leading tokens two token lists share. */
export function commonPrefixLength(first: readonly Token[], second: readonly Token[]): number {
  const limit = Math.min(first.length, second.length);
  let index = 0;
  while (index < limit && first[index] === second[index]) index += 1;
  return index;
}

/**
 * The tokens of a prompt. Raw text (stand-ins): BOS and the text, special-token markers in it
 * as plain text. A model with a chat template: the neutral prompt text (`### System …`, see
 * @halo/executor's chat-prompt) parsed into messages (any other text is one user message),
 * rendered with the template up to the assistant's turn; message text stays plain text.
 */
export function promptTokens(loaded: PromptModel, text: string): Token[] {
  const { model, chatWrapper } = loaded;
  if (chatWrapper) {
    const messages = parseChatPrompt(text) ?? [{ role: "user" as const, content: text }];
    const chatHistory: ChatHistoryItem[] = messages.map((message) =>
      message.role === "system"
        ? { type: "system", text: message.content }
        : message.role === "assistant"
          ? { type: "model", response: [message.content] }
          : { type: "user", text: message.content },
    );
    chatHistory.push({ type: "model", response: [] });
    const { contextText } = chatWrapper.generateContextState({ chatHistory });
    return contextText.tokenize(model.tokenizer);
  }
  const bos = model.tokens.bos;
  const tokens = model.tokenize(text);
  return model.tokens.shouldPrependBosToken && bos !== null ? [bos, ...tokens] : tokens;
}

/** Prefix tokens that stay the same whatever text follows the prefix (see `prefixBoundaryProbes`). */
export function stablePrefixTokens(loaded: PromptModel, text: string): Token[] {
  if (loaded.chatWrapper) {
    // The template wraps the whole turn: what stays the same is what every continuation of
    // the prefix (rendered up to the assistant's turn) begins with.
    const variants = prefixBoundaryProbes.map((probe) =>
      promptTokens(loaded, `${text}${probe}${ASSISTANT_TURN}`),
    );
    const stable = Math.min(...variants.map((variant) => commonPrefixLength(variants[0]!, variant)));
    return variants[0]!.slice(0, stable);
  }
  const tokens = promptTokens(loaded, text);
  let stable = tokens.length;
  for (const probe of prefixBoundaryProbes) {
    stable = Math.min(stable, commonPrefixLength(tokens, promptTokens(loaded, text + probe)));
  }
  return tokens.slice(0, stable);
}
