/**
 * What went wrong in an HTTP tool call, typed so the runtime can record it in that query's
 * result (and decide whether a retry can help: `timeout`, `network` and 5xx `http-status` may).
 */
export type HttpToolErrorCode =
  /** The URL's host is not in the allowlist; no connection was made. */
  | "host-not-allowed"
  /** No complete response within the timeout. */
  | "timeout"
  /** The server answered with a non-2xx status (`status` holds it). */
  | "http-status"
  /** The response body is not JSON. */
  | "invalid-json"
  /** The response body is larger than the size limit; reading stopped at the limit. */
  | "too-large"
  /** The connection failed (refused, reset, DNS, TLS, …). */
  | "network"
  /** The request itself is malformed (URL, method, body for GET, too many redirects). */
  | "invalid-request"
  /** The caller aborted the call. */
  | "aborted"
  /** The tool was closed before or during the call. */
  | "closed";

/** An error of one HTTP tool call; the message names the method, URL (password redacted) and cause. */
export class HttpToolError extends Error {
  override readonly name = "HttpToolError";
  readonly code: HttpToolErrorCode;
  /** The URL of the call (password redacted). */
  readonly url: string;
  /** The HTTP status, for `http-status` errors. */
  readonly status: number | undefined;

  constructor(
    code: HttpToolErrorCode,
    message: string,
    details: { readonly url: string; readonly status?: number; readonly cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.url = details.url;
    this.status = details.status;
  }
}
