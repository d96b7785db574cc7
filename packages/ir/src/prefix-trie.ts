/**
 * A radix trie over strings (UTF-16 code units) that measures how much of a set
 * of prompts is shared. Character-level keeps it independent of any tokenizer;
 * token counts of the shared parts are computed separately (`countTokens`).
 */

interface TrieNode {
  /** Label of the edge into this node. */
  label: string;
  children: Map<string, TrieNode>;
  /** Inserted strings passing through (or ending at) this node, with multiplicity. */
  count: number;
  /** Distinct inserted strings passing through this node. */
  distinct: number;
  /** Times a string ended exactly here. */
  ends: number;
}

function newNode(label: string): TrieNode {
  return { label, children: new Map(), count: 0, distinct: 0, ends: 0 };
}

function commonLength(left: string, right: string, rightStart: number): number {
  let length = 0;
  while (
    length < left.length &&
    rightStart + length < right.length &&
    left[length] === right[rightStart + length]
  ) {
    length += 1;
  }
  return length;
}

/** Sharing statistics of the strings in a `PrefixTrie`, in characters. */
export interface PrefixTrieStatistics {
  /** Strings inserted, with repeats. */
  readonly strings: number;
  readonly distinctStrings: number;
  /** Sum of the lengths of all inserted strings (what prefilling each from scratch costs). */
  readonly totalChars: number;
  /** Characters stored in the trie: what prefilling costs if every shared prefix is computed once. */
  readonly uniqueChars: number;
  /** Longest prefix common to every inserted string. */
  readonly commonPrefix: string;
  /** Longest prefix shared by at least two distinct strings. */
  readonly longestSharedPrefix: string;
}

/** A radix (compressed) prefix trie with insertion counts. */
export class PrefixTrie {
  private readonly root = newNode("");
  private strings = 0;
  private totalChars = 0;

  /** Inserts a string (repeats are counted). */
  insert(text: string): void {
    this.strings += 1;
    this.totalChars += text.length;
    const isNew = !this.has(text);
    let node = this.root;
    node.count += 1;
    if (isNew) node.distinct += 1;
    let position = 0;
    while (position < text.length) {
      const key = text[position] as string;
      const child = node.children.get(key);
      if (!child) {
        const leaf = newNode(text.slice(position));
        leaf.count = 1;
        leaf.distinct = 1;
        leaf.ends = 1;
        node.children.set(key, leaf);
        return;
      }
      const shared = commonLength(child.label, text, position);
      if (shared < child.label.length) {
        // Split the edge where the new string leaves it.
        const middle = newNode(child.label.slice(0, shared));
        middle.count = child.count;
        middle.distinct = child.distinct;
        child.label = child.label.slice(shared);
        middle.children.set(child.label[0] as string, child);
        node.children.set(key, middle);
        node = middle;
      } else {
        node = child;
      }
      node.count += 1;
      if (isNew) node.distinct += 1;
      position += shared;
    }
    node.ends += 1;
  }

  /** True when the exact string was inserted. */
  has(text: string): boolean {
    let node = this.root;
    let position = 0;
    while (position < text.length) {
      const child = node.children.get(text[position] as string);
      if (!child || !text.startsWith(child.label, position)) return false;
      position += child.label.length;
      node = child;
    }
    return node.ends > 0;
  }

  /** Length of the longest prefix of `text` present in the trie (what a prefix cache could reuse). */
  matchLength(text: string): number {
    let node = this.root;
    let position = 0;
    while (position < text.length) {
      const child = node.children.get(text[position] as string);
      if (!child) break;
      const shared = commonLength(child.label, text, position);
      position += shared;
      if (shared < child.label.length) break;
      node = child;
    }
    return position;
  }

  statistics(): PrefixTrieStatistics {
    let uniqueChars = 0;
    // Iterative walks: deep tries must not overflow the stack.
    const all: TrieNode[] = [this.root];
    while (all.length > 0) {
      const node = all.pop() as TrieNode;
      for (const child of node.children.values()) {
        uniqueChars += child.label.length;
        all.push(child);
      }
    }
    // Only nodes shared by two distinct strings can hold the longest shared prefix.
    type Entry = { readonly node: TrieNode; readonly depth: number; readonly parent: Entry | undefined };
    const shared: Entry[] = [{ node: this.root, depth: 0, parent: undefined }];
    let bestEntry: Entry | undefined;
    while (shared.length > 0) {
      const entry = shared.pop() as Entry;
      for (const child of entry.node.children.values()) {
        if (child.distinct < 2) continue;
        const next: Entry = { node: child, depth: entry.depth + child.label.length, parent: entry };
        if (bestEntry === undefined || next.depth > bestEntry.depth) bestEntry = next;
        shared.push(next);
      }
    }
    const labels: string[] = [];
    for (let entry: Entry | undefined = bestEntry; entry !== undefined; entry = entry.parent)
      labels.unshift(entry.node.label);
    let common = "";
    let node = this.root;
    while (node.children.size === 1 && node.ends === 0) {
      const child = node.children.values().next().value as TrieNode;
      if (child.count !== this.strings) break;
      common += child.label;
      node = child;
    }
    return {
      strings: this.strings,
      distinctStrings: this.root.distinct,
      totalChars: this.totalChars,
      uniqueChars,
      commonPrefix: common,
      longestSharedPrefix: labels.join(""),
    };
  }
}
