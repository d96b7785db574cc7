import {
  type ChannelOptions,
  Server,
  ServerCredentials,
  type ServerInterceptor,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { bearerTokenInterceptor, type ServerSecurity } from "./connection-security.js";

/** One gRPC service to serve: its definition (generated) and its handlers. */
export interface GrpcServiceBinding {
  readonly definition: ServiceDefinition;
  readonly implementation: UntypedServiceImplementation;
}

export interface StartGrpcServerOptions {
  /** Interface to bind; loopback unless told otherwise. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly services: readonly GrpcServiceBinding[];
  readonly channelOptions?: ChannelOptions;
  /**
   * TLS key pair and/or bearer token clients must present (default: neither).
   * This helper does not judge whether the host needs them: see `exposedBindProblem`.
   */
  readonly security?: ServerSecurity;
}

/** A listening gRPC server. */
export interface GrpcServerHandle {
  /** `host:port` to give to clients (IPv6 hosts in brackets). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly server: Server;
  /**
   * Stops accepting calls and waits for the running ones to finish, for at
   * most `graceMs` (default 10 s), then cancels what is left.
   */
  shutdown(graceMs?: number): Promise<void>;
  /** Cancels every running call and closes the listener now. */
  forceShutdown(): void;
}

/** Messages up to 64 MiB: long prompts and KV chunks exceed gRPC's 4 MiB default. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Server keepalive: the server pings idle clients (a vanished client's calls
 * are cancelled) and accepts the clients' own pings every 5 s or more, with or
 * without calls in flight (servers that enforce a ping policy otherwise answer
 * frequent pings with GOAWAY "too_many_pings"; the second and third keys are
 * the names gRPC C-core servers read, kept so proxies and ports agree).
 */
export const SERVER_KEEPALIVE_OPTIONS: ChannelOptions = {
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
  "grpc.http2.min_time_between_pings_ms": 5_000,
  "grpc.http2.max_ping_strikes": 0,
};

/** Starts a gRPC server: plaintext and open unless `security` asks for TLS and/or a bearer token. */
export async function startGrpcServer(options: StartGrpcServerOptions): Promise<GrpcServerHandle> {
  const host = options.host ?? "127.0.0.1";
  const security = options.security;
  const interceptors: ServerInterceptor[] =
    security?.token !== undefined ? [bearerTokenInterceptor(security.token)] : [];
  const server = new Server({
    "grpc.max_receive_message_length": DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": DEFAULT_MAX_MESSAGE_BYTES,
    ...SERVER_KEEPALIVE_OPTIONS,
    ...options.channelOptions,
    interceptors,
  });
  // No client certificates: clients prove themselves with the token, the server with its certificate.
  const credentials = security?.tls
    ? ServerCredentials.createSsl(
        null,
        [{ private_key: security.tls.keyPem, cert_chain: security.tls.certPem }],
        false,
      )
    : ServerCredentials.createInsecure();
  for (const service of options.services) server.addService(service.definition, service.implementation);
  const hostPart = host.includes(":") ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${hostPart}:${options.port ?? 0}`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  let stopped: Promise<void> | undefined;
  return {
    address: `${hostPart}:${port}`,
    host,
    port,
    server,
    shutdown(graceMs = 10_000) {
      stopped ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return stopped;
    },
    forceShutdown() {
      server.forceShutdown();
    },
  };
}
