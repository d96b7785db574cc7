/**
 * The neutral prompt text engines receive, and its mapping to chat messages.
 *
 * Workflows render an LLM call as `### System\n<system>\n\n### User\n<user>\n\n### Assistant\n`
 * (@halo/ir's prompt layout); engines that run raw text use it as is, engines with a chat
 * template (a real GGUF, an OpenAI-compatible server) turn it back into messages. The
 * executor's OpenAI endpoint goes the other way: chat messages become this text, the leading
 * system messages (with the header of the first user turn) as the shared prefix, so requests
 * with the same system prompt share one cached prefix, and the same prompt sent over gRPC by
 * the runtime or over HTTP by an OpenAI client is the same text with the same prefix key.
 */

/** A chat role of the neutral prompt text. */
export type ChatRole = "system" | "user" | "assistant" | "tool";

/** One chat message in the neutral prompt text. */
export interface ChatPromptMessage {
  readonly role: ChatRole;
  readonly content: string;
}

const HEADERS: Readonly<Record<ChatRole, string>> = {
  system: "### System\n",
  user: "### User\n",
  assistant: "### Assistant\n",
  tool: "### Tool\n",
};

/** Between two sections. */
const SEPARATOR = "\n\n";

/** The text the prompt ends with: the header of the turn the engine writes. */
export const ASSISTANT_TURN = `${SEPARATOR}${HEADERS.assistant}`;

/** A rendered chat prompt: `prefix + suffix` is the whole text. */
export interface RenderedChatPrompt {
  /** The leading system messages and the first user header: shared by requests with the same system prompt. */
  readonly prefix: string;
  readonly suffix: string;
}

/**
 * Renders chat messages as the neutral prompt text, ending with the assistant header.
 * Consecutive leading system messages are joined into one system section.
 */
export function renderChatPrompt(messages: readonly ChatPromptMessage[]): RenderedChatPrompt {
  let start = 0;
  const system: string[] = [];
  while (start < messages.length && messages[start]!.role === "system")
    system.push(messages[start++]!.content);
  const sections: string[] = [];
  for (const message of messages.slice(start)) sections.push(`${HEADERS[message.role]}${message.content}`);
  const rest = `${sections.join(SEPARATOR)}${ASSISTANT_TURN}`;
  if (system.length === 0 || messages[start]?.role !== "user") {
    const head = system.length > 0 ? `${HEADERS.system}${system.join(SEPARATOR)}${SEPARATOR}` : "";
    return { prefix: "", suffix: `${head}${rest}` };
  }
  // The prefix ends with the first user header, as @halo/ir's static prefix does.
  const prefix = `${HEADERS.system}${system.join(SEPARATOR)}${SEPARATOR}${HEADERS.user}`;
  return { prefix, suffix: rest.slice(HEADERS.user.length) };
}

const HEADER_PATTERN = /(?:^|\n\n)### (System|User|Assistant|Tool)\n/g;

/**
 * Parses the neutral prompt text back into messages; undefined when the text does not start
 * with a section header or does not end with the assistant header (then it is raw text).
 * A message that itself contains `\n\n### User\n` is split there: the format has no escaping.
 */
export function parseChatPrompt(text: string): ChatPromptMessage[] | undefined {
  if (!text.endsWith(ASSISTANT_TURN)) return undefined;
  const body = text.slice(0, -ASSISTANT_TURN.length);
  const matches = [...body.matchAll(HEADER_PATTERN)];
  if (matches.length === 0 || matches[0]!.index !== 0) return undefined;
  return matches.map((match, index) => {
    const start = match.index + match[0].length;
    const end = index + 1 < matches.length ? matches[index + 1]!.index : body.length;
    return { role: match[1]!.toLowerCase() as ChatRole, content: body.slice(start, end) };
  });
}
