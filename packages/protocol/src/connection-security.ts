import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { BlockList, isIP } from "node:net";
import {
  status as GrpcStatus,
  type Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
} from "@grpc/grpc-js";

/** Metadata key of the bearer token (`authorization: Bearer <token>`, as HTTP does). */
export const AUTHORIZATION_METADATA_KEY = "authorization";

/** Shortest token accepted: 16 characters leave guessing hopeless even at many calls per second. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Methods callable without the token when a server requires one: the health
 * check, so load balancers and orchestrators can probe an executor without
 * holding its secret. It reveals only "serving" or not.
 */
export const UNAUTHENTICATED_METHODS: ReadonlySet<string> = new Set(["/grpc.health.v1.Health/Check"]);

/** How a client reaches an executor: TLS when `tlsCaPem` is given, a bearer token when `token` is. */
export interface ExecutorConnectionSecurity {
  /** PEM certificate(s) of the authority that signed the executor's certificate (or the certificate itself). */
  readonly tlsCaPem?: Buffer;
  /** Bearer token sent with every call as `authorization: Bearer <token>`. */
  readonly token?: string;
}

/** What a gRPC server demands of its clients: TLS with this key pair, and/or this bearer token. */
export interface ServerSecurity {
  readonly tls?: { readonly certPem: Buffer; readonly keyPem: Buffer };
  readonly token?: string;
}

/** A token that cannot be used; the message says why (never the token itself). */
export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTokenError";
  }
}

/** Why `token` is unusable, or undefined when it is fine: printable ASCII without spaces, 16+ characters. */
export function tokenProblem(token: string): string | undefined {
  if (token.length < MIN_TOKEN_LENGTH)
    return `a token needs at least ${MIN_TOKEN_LENGTH} characters (got ${token.length})`;
  // gRPC metadata values are printable ASCII; spaces would make `Bearer <token>` ambiguous.
  if (!/^[\x21-\x7e]+$/.test(token)) return "a token may hold only printable ASCII characters, no spaces";
  return undefined;
}

/**
 * Reads a token from a file (its whole content; one trailing newline, as
 * editors and `echo` write, is dropped). Throws InvalidTokenError naming the file.
 */
export async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    throw new InvalidTokenError(`cannot read token file ${path}: ${reason}`);
  }
  const token = text.replace(/\r?\n$/, "");
  const problem = tokenProblem(token);
  if (problem) throw new InvalidTokenError(`token file ${path}: ${problem}`);
  return token;
}

/** True when `presented` equals `expected`; compares fixed-length digests in constant time. */
export function tokenMatches(presented: string, expected: string): boolean {
  // Hashing first gives equal lengths (timingSafeEqual demands it) and hides the token's length.
  const left = createHash("sha256").update(presented).digest();
  const right = createHash("sha256").update(expected).digest();
  return timingSafeEqual(left, right);
}

/** The token of an `authorization: Bearer <token>` entry, or undefined when there is none. */
export function bearerTokenOf(metadata: Metadata): string | undefined {
  const value = metadata.get(AUTHORIZATION_METADATA_KEY)[0];
  if (typeof value !== "string") return undefined;
  const match = /^Bearer (.+)$/i.exec(value);
  return match?.[1];
}

/**
 * A server interceptor that ends every call lacking the bearer token `token`
 * with UNAUTHENTICATED before its handler runs (nor is its request read),
 * except the methods in `openMethods` (full paths, `/package.Service/Method`).
 */
export function bearerTokenInterceptor(
  token: string,
  openMethods: ReadonlySet<string> = UNAUTHENTICATED_METHODS,
): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) => {
    if (openMethods.has(method.path)) return new ServerInterceptingCall(call);
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const presented = bearerTokenOf(metadata);
        if (presented !== undefined && tokenMatches(presented, token)) {
          next(metadata);
          return;
        }
        call.sendStatus({
          code: GrpcStatus.UNAUTHENTICATED,
          details:
            presented === undefined
              ? `${method.path}: this executor requires a bearer token (metadata "authorization: Bearer <token>")`
              : `${method.path}: wrong bearer token`,
        });
      })
      .build();
    return new ServerInterceptingCall(
      call,
      new ResponderBuilder().withStart((next) => next(listener)).build(),
    );
  };
}

// BlockList normalizes IPv6 spellings (0:0:…:1) and matches IPv4-mapped addresses against IPv4 subnets.
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * True for hosts that only this machine can reach: `localhost`, 127.0.0.0/8,
 * `::1` and IPv4-mapped loopback. Any other name or address (0.0.0.0, `::`,
 * a LAN address, a hostname) may be reachable from elsewhere.
 */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (bare.toLowerCase() === "localhost") return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? "ipv4" : "ipv6");
}

/** What protects a server: TLS, a bearer token. */
export interface ServerProtection {
  readonly tls: boolean;
  readonly token: boolean;
}

/**
 * Why binding `host` with `protection` is unsafe, or undefined when it is not:
 * beyond loopback a server needs both TLS (so the token and the prompts cannot
 * be read on the wire) and a token (so not everyone who can connect may use it).
 */
export function exposedBindProblem(host: string, protection: ServerProtection): string | undefined {
  if (isLoopbackHost(host)) return undefined;
  const missing = [
    ...(protection.tls ? [] : ["TLS (--tls-cert and --tls-key)"]),
    ...(protection.token ? [] : ["a bearer token (--token-file)"]),
  ];
  if (missing.length === 0) return undefined;
  return `${host} is not a loopback address, so binding it needs ${missing.join(" and ")}; or spell out --insecure to serve anyone who can reach it`;
}
