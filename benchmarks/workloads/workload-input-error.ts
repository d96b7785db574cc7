/**
 * A problem with what a caller asked of the workloads (an unknown workload id,
 * an HTTP mode an operator cannot switch to, a bad base URL or latency scale).
 * The message names the workload, option or operator.
 */
export class WorkloadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkloadInputError";
  }
}
