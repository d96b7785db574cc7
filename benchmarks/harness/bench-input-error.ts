/** Bad benchmark settings (an unknown system or workload, a bad number); the CLI turns it into exit code 2. */
export class BenchInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchInputError";
  }
}
