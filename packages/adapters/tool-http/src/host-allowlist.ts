/**
 * Which hosts the HTTP tool may contact. Entries are host names or IP addresses, optionally
 * with a port (`api.example.com`, `127.0.0.1:8765`, `[::1]:8080`), or `*.example.com` for any
 * subdomain. Names are compared case-insensitively; an entry without a port allows every port.
 */

/** Decides, before any connection, whether a URL's host may be contacted. */
export class HostAllowlist {
  readonly #any: boolean;
  readonly #entries: readonly {
    readonly host: string;
    readonly port: string | undefined;
    readonly suffix: boolean;
  }[];
  /** The entries as given, for error messages. */
  readonly description: string;

  /** `"any"` allows every host; otherwise the list of entries (throws on a malformed entry). */
  constructor(allowHosts: readonly string[] | "any") {
    this.#any = allowHosts === "any";
    this.description = allowHosts === "any" ? "any" : allowHosts.join(", ") || "none";
    this.#entries = allowHosts === "any" ? [] : allowHosts.map(parseEntry);
  }

  /** Whether `url` (parsed) may be contacted. */
  allows(url: URL): boolean {
    if (this.#any) return true;
    const host = url.hostname.toLowerCase();
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    return this.#entries.some(
      (entry) =>
        (entry.suffix ? host.endsWith(entry.host) && host.length > entry.host.length : host === entry.host) &&
        (entry.port === undefined || entry.port === port),
    );
  }
}

function parseEntry(entry: string): { host: string; port: string | undefined; suffix: boolean } {
  const trimmed = entry.trim().toLowerCase();
  const wildcard = trimmed.startsWith("*.");
  const rest = wildcard ? trimmed.slice(1) : trimmed;
  let parsed: URL | undefined;
  try {
    // Parsing as a URL authority validates the name and normalizes IPv6 and IPv4 forms.
    parsed = new URL(`http://${wildcard ? `wildcard${rest}` : rest}`);
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    rest.length === 0 ||
    /[/?#@\s]/.test(rest) ||
    parsed.pathname !== "/" ||
    parsed.username !== "" ||
    (wildcard && rest.length < 2)
  ) {
    throw new Error(
      `allowHosts entry ${JSON.stringify(entry)} is not a host, host:port or *.domain (e.g. "api.example.com", "127.0.0.1:8765")`,
    );
  }
  const hostname = wildcard ? parsed.hostname.slice("wildcard".length) : parsed.hostname;
  // URL drops a port equal to the scheme default; an explicit :80 must still mean port 80.
  const explicitPort = /:(\d+)$/.exec(rest)?.[1];
  return {
    host: hostname,
    port: explicitPort === undefined ? undefined : String(Number(explicitPort)),
    suffix: wildcard,
  };
}
