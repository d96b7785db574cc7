/**
 * A problem with what the user asked for (scale out of range, a table that
 * already exists, a file that is not a generated database, …). The message
 * names the option, file or table; the CLI reports it with exit code 2.
 */
export class DatasetInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetInputError";
  }
}
