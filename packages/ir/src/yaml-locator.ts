/** Maps spec paths to YAML paths with line and column numbers, using the parsed document's node ranges. */
import { type Document, isNode, type LineCounter } from "yaml";
import { formatYamlPath, type PathSegment, type SourceLocator } from "./problems.js";
import type { SourceRef } from "./types.js";

/** A locator over a parsed YAML document: the path as written, the line of the element or its nearest ancestor. */
export function yamlLocator(file: string, document: Document, lineCounter: LineCounter): SourceLocator {
  return {
    file,
    locate(segments: readonly PathSegment[]): SourceRef {
      const path = formatYamlPath(segments);
      for (let length = segments.length; length >= 0; length -= 1) {
        const node: unknown =
          length === 0 ? document.contents : document.getIn(segments.slice(0, length), true);
        if (isNode(node) && node.range) {
          const position = lineCounter.linePos(node.range[0]);
          return { file, path, line: position.line, column: position.col };
        }
      }
      return { file, path };
    },
  };
}
