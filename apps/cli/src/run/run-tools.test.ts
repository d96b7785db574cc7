import { compileSpec } from "@halo/ir";
import { renderRequest } from "@halo/ir/internal";
import { describe, expect, it } from "vitest";
import { createHttpTool } from "./run-tools.js";

const templated = (host: string) => {
  const result = compileSpec({
    graph: {
      nodes: [
        { id: "q", type: "input", outputs: ["keyword"] },
        { id: "titles", type: "http", url: `http://${host}/imdb/{{ keyword }}/titles`, outputs: ["rows"] },
      ],
      edges: [{ from: "q", to: "titles" }],
    },
  });
  if (!result.ok) throw new Error(result.problems.map((problem) => problem.message).join("; "));
  return result.workflow;
};

describe("createHttpTool with a templated URL", () => {
  it("checks the URL's constant host against --http-allow before the run, as validate promises", async () => {
    const workflow = templated("127.0.0.1:8765");
    const tool = createHttpTool(workflow, "127.0.0.1:8765", 1);
    expect(tool).toBeDefined();
    await tool?.close();
    expect(() => createHttpTool(workflow, "example.invalid", 1)).toThrow(
      /operator "titles" calls 127\.0\.0\.1:8765, which the allowlist \(example\.invalid\) does not name/,
    );
    // The request carries the rendered URL, never the braces.
    expect(renderRequest(workflow, "titles", { keyword: "star wars" })).toMatchObject({
      url: "http://127.0.0.1:8765/imdb/star%20wars/titles",
    });
  });
});
