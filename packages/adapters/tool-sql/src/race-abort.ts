/**
 * Settles with `work`, or rejects with `onAbort()` as soon as `signal` aborts — the caller
 * gets its answer at once even when the database takes a while to stop the statement.
 * `work` keeps running to its end (it still owns its connection) and its outcome is ignored.
 */
export function raceAbort<T>(
  work: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: () => Error,
): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const abort = (): void => reject(onAbort());
    if (signal.aborted) {
      work.catch(() => undefined);
      abort();
      return;
    }
    signal.addEventListener("abort", abort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
