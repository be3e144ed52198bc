/**
 * The listening socket: plain HTTP, or HTTPS when the config names a certificate and key. A socket that
 * cannot be opened is a one-line message an operator can act on, never a stack trace.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { createSecureContext } from "node:tls";
import { StartError } from "../start-error";

export interface TlsFiles {
  cert: string;
  key: string;
}

function readPem(file: string, what: "cert" | "key"): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new StartError(`server.tls.${what}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** The certificate and key, read and checked now (a key that does not fit the certificate is refused here). */
export function readTls(tls: TlsFiles): { cert: Buffer; key: Buffer } {
  const pair = { cert: readPem(tls.cert, "cert"), key: readPem(tls.key, "key") };
  try {
    createSecureContext(pair);
  } catch (error) {
    throw new StartError(`server.tls: the certificate ${tls.cert} and key ${tls.key} cannot be used (${(error as Error).message.split("\n")[0]})`);
  }
  return pair;
}

function listenProblem(error: NodeJS.ErrnoException, host: string, port: number, keys: string): string {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  switch (error.code) {
    case "EADDRINUSE":
      return `cannot listen on ${where}: the port is already in use (another process listens there); stop it or choose another port (${keys})`;
    case "EACCES":
      return `cannot listen on ${where}: not allowed (ports below 1024 need privileges); choose another port (${keys})`;
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
      return `cannot listen on ${where}: ${host} is not an address of this machine (${keys})`;
    default:
      return `cannot listen on ${where}: ${error.code ?? error.message}`;
  }
}

/** Opens the socket; `keys` names the settings that choose it, for the message when it cannot be opened. */
export async function listen(handler: RequestListener, port: number, host: string, options: { tls?: TlsFiles; keys: string }): Promise<Server> {
  const server: Server | HttpsServer = options.tls ? createHttpsServer(readTls(options.tls), handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(new StartError(listenProblem(error, host, port, options.keys)));
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve();
    });
  });
  return server;
}
