/**
 * `healthcheck`: asks this machine's bridge for /healthz, where the config (and HOST / PORT) say it
 * listens: the container image's HEALTHCHECK. Exit 0 when it answers 200.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Config } from "../config/schema";
import type { CommandResult } from "./mappings";

/** The address to probe: a wildcard listener is reached on loopback. */
function probeHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "::1";
  return host;
}

export async function healthcheckCommand(config: Config, timeoutMs = 3_000): Promise<CommandResult> {
  const { host, port, tls } = config.server;
  const send = tls ? httpsRequest : httpRequest;
  // A local liveness probe: the certificate names the public host, not loopback.
  const options = { host: probeHost(host), port, path: "/healthz", timeout: timeoutMs, ...(tls ? { rejectUnauthorized: false } : {}) };
  const where = `${tls ? "https" : "http"}://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}/healthz`;
  return new Promise((resolve) => {
    const req = send(options, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? { code: 0, out: [`ok ${where}`] } : { code: 1, out: [`${where} answered ${res.statusCode}`] });
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ code: 1, out: [`${where}: ${error.code ?? error.message}`] }));
    req.end();
  });
}
