/**
 * A small pool of connections for DuckDB, whose connections to one database run queries
 * concurrently (PostgreSQL uses `pg`'s own pool). Connections are made lazily up to
 * `maxSize`; callers beyond that wait in FIFO order.
 */
import { abortedError, SqlToolError } from "./sql-tool-error.js";

/** How the pool makes and disposes of a connection. */
export interface ConnectionPoolOptions<Connection> {
  readonly maxSize: number;
  readonly create: () => Promise<Connection>;
  readonly destroy: (connection: Connection) => void;
  /** Names the database in the error of a call made after `close()`. */
  readonly description: string;
}

interface Waiter<Connection> {
  readonly resolve: (connection: Connection) => void;
  readonly reject: (error: unknown) => void;
}

/** Lazily grown, bounded pool; `acquire` waits when every connection is in use. */
export class ConnectionPool<Connection> {
  readonly #options: ConnectionPoolOptions<Connection>;
  readonly #idle: Connection[] = [];
  readonly #waiters: Waiter<Connection>[] = [];
  #size = 0;
  #closed = false;
  #closeError: Error | undefined;
  readonly #drainWaiters: (() => void)[] = [];

  constructor(options: ConnectionPoolOptions<Connection>) {
    this.#options = options;
  }

  /**
   * A connection for the caller's exclusive use until `release`. Aborting `signal` while
   * waiting rejects with an `aborted` error and leaves the queue.
   */
  async acquire(signal?: AbortSignal): Promise<Connection> {
    if (this.#closed) throw this.#closedError();
    const idle = this.#idle.pop();
    if (idle !== undefined) return idle;
    if (this.#size < this.#options.maxSize) {
      this.#size += 1;
      try {
        return await this.#options.create();
      } catch (error) {
        this.#shrink();
        throw error;
      }
    }
    return new Promise<Connection>((resolve, reject) => {
      const onAbort = (): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        reject(abortedError(this.#options.description));
      };
      const waiter: Waiter<Connection> = {
        resolve: (connection) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(connection);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Gives a connection back: to the next waiter, to the idle list, or (after `close`) to `destroy`. */
  release(connection: Connection): void {
    if (this.#closed) {
      this.#options.destroy(connection);
      this.#shrink();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(connection);
    else this.#idle.push(connection);
  }

  /**
   * Takes back a connection that must not be reused (broken, or interrupted mid-statement) and
   * destroys it; the first waiter, if any, gets a newly made connection in its place.
   */
  discard(connection: Connection): void {
    this.#options.destroy(connection);
    this.#shrink();
    if (this.#closed) return;
    const waiter = this.#waiters.shift();
    if (waiter === undefined) return;
    this.#size += 1;
    this.#options.create().then(waiter.resolve, (error: unknown) => {
      this.#shrink();
      waiter.reject(error);
    });
  }

  /**
   * Resolves once the pool is closed and every connection it made is destroyed: DuckDB must
   * not close a database while a statement still runs on one of its connections.
   */
  drained(): Promise<void> {
    if (this.#closed && this.#size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Connections currently made (idle or in use). */
  get size(): number {
    return this.#size;
  }

  /**
   * Rejects waiters and later callers (with `waiterError`, default a `closed` error) and
   * destroys idle connections; connections in use are destroyed on release.
   */
  close(waiterError?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = waiterError;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#closedError());
    for (const connection of this.#idle.splice(0)) {
      this.#options.destroy(connection);
      this.#shrink();
    }
    this.#shrink(0);
  }

  /** Counts `by` connections gone, and settles `drained()` when a closed pool has none left. */
  #shrink(by = 1): void {
    this.#size -= by;
    if (this.#closed && this.#size === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  #closedError(): Error {
    return (
      this.#closeError ?? new SqlToolError("closed", `${this.#options.description}: the SQL tool is closed`)
    );
  }
}
