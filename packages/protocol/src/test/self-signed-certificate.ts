import { execFile } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** A throwaway key pair for tests: PEM bytes and the files they were written to. */
export interface SelfSignedCertificate {
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  readonly certPath: string;
  readonly keyPath: string;
}

/** Options of `createSelfSignedCertificate`. */
export interface SelfSignedCertificateOptions {
  /** Where to write `cert.pem` and `key.pem` (default: a new temporary directory). */
  readonly directory?: string;
  /** Subject alternative names (default `IP:127.0.0.1,IP:0:0:0:0:0:0:0:1,DNS:localhost`). */
  readonly altNames?: string;
}

/**
 * Generates a self-signed P-256 certificate valid for one day with the
 * `openssl` command (Node has no certificate generator). Fails with a message
 * saying how to install openssl when it is missing, rather than skipping the
 * tests that need it.
 */
export async function createSelfSignedCertificate(
  options: SelfSignedCertificateOptions = {},
): Promise<SelfSignedCertificate> {
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "halo-tls-")));
  const certPath = join(directory, "cert.pem");
  const keyPath = join(directory, "key.pem");
  const altNames = options.altNames ?? "IP:127.0.0.1,IP:0:0:0:0:0:0:0:1,DNS:localhost";
  try {
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=halo-test-executor",
      "-addext",
      `subjectAltName=${altNames}`,
    ]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(
        "openssl is not on PATH: TLS tests generate their self-signed certificate with it (Debian: apt-get install openssl)",
      );
    }
    throw new Error(
      `openssl req failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}`,
    );
  }
  return { certPem: await readFile(certPath), keyPem: await readFile(keyPath), certPath, keyPath };
}
