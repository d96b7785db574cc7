import { describe, expect, it } from "vitest";
import { EventStream, type RuntimeEvent } from "./runtime-events.js";

const started = (queryId: string): RuntimeEvent => ({ type: "query-started", atMs: 0, queryId });

describe("EventStream", () => {
  it("delivers every event published after subscribing, to every subscriber and the listener", async () => {
    const heard: RuntimeEvent[] = [];
    const stream = new EventStream((event) => heard.push(event));
    stream.publish(started("before"));
    const first = stream.subscribe();
    const second = stream.subscribe();
    const collect = async (events: AsyncIterable<RuntimeEvent>) => {
      const ids: string[] = [];
      for await (const event of events) if (event.type === "query-started") ids.push(event.queryId);
      return ids;
    };
    const collected = Promise.all([collect(first), collect(second)]);
    stream.publish(started("a"));
    await new Promise((resolve) => setImmediate(resolve));
    stream.publish(started("b"));
    stream.close();
    stream.publish(started("after"));
    expect(await collected).toEqual([
      ["a", "b"],
      ["a", "b"],
    ]);
    expect(heard.map((event) => (event.type === "query-started" ? event.queryId : ""))).toEqual([
      "before",
      "a",
      "b",
    ]);
    const late: RuntimeEvent[] = [];
    for await (const event of stream.subscribe()) late.push(event);
    expect(late).toEqual([]);
  });

  it("keeps publishing when a listener throws", () => {
    const stream = new EventStream(() => {
      throw new Error("listener bug");
    });
    expect(() => stream.publish(started("a"))).not.toThrow();
  });
});
