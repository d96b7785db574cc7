import { describe, expect, it } from "vitest";
import { ConnectionPool } from "./connection-pool.js";

function pool(maxSize: number, failCreate = false) {
  const destroyed: number[] = [];
  let made = 0;
  const connections = new ConnectionPool<number>({
    maxSize,
    description: "test database",
    create: async () => {
      if (failCreate) throw new Error("cannot connect");
      made += 1;
      return made;
    },
    destroy: (connection) => destroyed.push(connection),
  });
  return { connections, destroyed };
}

describe("ConnectionPool", () => {
  it("grows lazily up to its size, then hands released connections to waiters in order", async () => {
    const { connections } = pool(2);
    const first = await connections.acquire();
    const second = await connections.acquire();
    expect([first, second, connections.size]).toEqual([1, 2, 2]);
    const order: number[] = [];
    const third = connections.acquire().then((connection) => order.push(connection));
    const fourth = connections.acquire().then((connection) => order.push(connection));
    connections.release(second);
    connections.release(first);
    await Promise.all([third, fourth]);
    expect(order).toEqual([2, 1]);
    expect(connections.size).toBe(2);
  });

  it("reuses idle connections", async () => {
    const { connections } = pool(3);
    connections.release(await connections.acquire());
    expect(await connections.acquire()).toBe(1);
    expect(connections.size).toBe(1);
  });

  it("does not count a connection that failed to be made", async () => {
    const { connections } = pool(1, true);
    await expect(connections.acquire()).rejects.toThrow("cannot connect");
    expect(connections.size).toBe(0);
  });

  it("lets an aborted waiter leave the queue", async () => {
    const { connections } = pool(1);
    const held = await connections.acquire();
    const controller = new AbortController();
    const waiting = connections.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({
      code: "aborted",
      message: expect.stringContaining("test database"),
    });
    const next = connections.acquire();
    connections.release(held);
    expect(await next).toBe(held);
  });

  it("on close rejects waiters, destroys idle connections now and busy ones on release, then is drained", async () => {
    const { connections, destroyed } = pool(2);
    const busy = await connections.acquire();
    const idle = await connections.acquire();
    connections.release(idle);
    const other = await connections.acquire();
    const waiting = connections.acquire();
    connections.close();
    connections.close();
    await expect(waiting).rejects.toMatchObject({ code: "closed" });
    let drained = false;
    const draining = connections.drained().then(() => {
      drained = true;
    });
    connections.release(busy);
    await Promise.resolve();
    expect(drained).toBe(false);
    connections.release(other);
    await draining;
    expect(destroyed.sort()).toEqual([1, 2]);
    expect(connections.size).toBe(0);
    await connections.drained();
    await expect(connections.acquire()).rejects.toMatchObject({ code: "closed" });
  });

  it("discards a broken connection and makes a new one for the next waiter", async () => {
    const { connections, destroyed } = pool(1);
    const broken = await connections.acquire();
    const waiting = connections.acquire();
    connections.discard(broken);
    expect(destroyed).toEqual([1]);
    expect(await waiting).toBe(2);
    expect(connections.size).toBe(1);
    connections.discard(2);
    expect(connections.size).toBe(0);
    expect(await connections.acquire()).toBe(3);
  });

  it("passes a failure to make the replacement on to the waiter", async () => {
    let fail = false;
    const connections = new ConnectionPool<number>({
      maxSize: 1,
      description: "test database",
      create: async () => {
        if (fail) throw new Error("cannot reconnect");
        return 1;
      },
      destroy: () => {},
    });
    const broken = await connections.acquire();
    const waiting = connections.acquire();
    fail = true;
    connections.discard(broken);
    await expect(waiting).rejects.toThrow("cannot reconnect");
    expect(connections.size).toBe(0);
  });

  it("rejects waiters and later callers with the error close is given", async () => {
    const { connections } = pool(1);
    await connections.acquire();
    const waiting = connections.acquire();
    connections.close(new Error("database reopened"));
    await expect(waiting).rejects.toThrow("database reopened");
    await expect(connections.acquire()).rejects.toThrow("database reopened");
  });
});
