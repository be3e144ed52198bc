/**
 * All outbound HTTP, through undici: one pooled dispatcher per vendor host, with connect, header and body
 * timeouts. `connectTo` sends a host's requests to another address while TLS (SNI) and Host stay the vendor's.
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case) are honoured, as curl reads them; a connectTo address
 * is proxied too unless NO_PROXY names it.
 */
import { EnvHttpProxyAgent, request, type Dispatcher } from "undici";
import type { SignedRequest } from "./signing/crypto";
import type { Endpoint } from "./types";

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Network failures where the host was never reached: DNS, refused or timed-out connections, proxy trouble. */
const UNREACHABLE = new Set(["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * The request or its answer did not get through: the network, a proxy or the vendor's host failed (a reset,
 * a timeout, a dropped connection). Not the bridge's own code: the call may be sent again. `code` stays the
 * system's or undici's (its error's name where it has none).
 */
export class TransportFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "TransportFailure";
  }
}

/** The vendor's host could not be reached; the message says what to check. */
export class VendorUnreachable extends TransportFailure {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = "VendorUnreachable";
  }
}

function proxyInUse(): string | undefined {
  const env = process.env;
  return env.https_proxy || env.HTTPS_PROXY || env.http_proxy || env.HTTP_PROXY || undefined;
}

function unreachable(error: unknown, host: string, origin: string): VendorUnreachable | undefined {
  const cause = (error as { cause?: { code?: string } }).cause;
  const code = (error as { code?: string }).code ?? cause?.code;
  if (!code || !UNREACHABLE.has(code)) return undefined;
  const proxy = proxyInUse();
  const hint = proxy
    ? "check that the proxy in HTTPS_PROXY / HTTP_PROXY is reachable and lets the bridge through (NO_PROXY for hosts it must not handle)"
    : "check DNS and the route from this network; where the internet is reached through a proxy, set HTTPS_PROXY (and NO_PROXY for internal hosts)";
  return new VendorUnreachable(code, `cannot reach ${host} at ${origin} (${code}${(error as Error).message ? `: ${(error as Error).message}` : ""}): ${hint}`);
}

/**
 * A failure of `request()` or of reading the answer, as a TransportFailure. A TypeError or undici's
 * invalid-argument error is a request the bridge built wrong (a bad URL, a header value a signer broke):
 * kept as it is, a bug rather than an outage.
 */
function transportFailure(error: unknown, host: string, origin: string): unknown {
  const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
  if (error instanceof TypeError || code === "UND_ERR_INVALID_ARG") return error;
  return unreachable(error, host, origin) ?? new TransportFailure(typeof code === "string" ? code : String(name ?? "Error"), String(message ?? error));
}

export class Transport {
  /** One pooled dispatcher per host: an operation of another product (RAM beside CCC) goes to its own host. */
  private readonly agents = new Map<string, { origin: string; agent: Dispatcher }>();

  constructor(private readonly endpoint: Endpoint) {
    for (const [host, origin] of Object.entries(endpoint.connectTo))
      if (origin.startsWith("http://") && !endpoint.allowInsecureHttp)
        throw new Error(`plain http to ${origin} (for ${host}) needs allowInsecureHttp: true in the target's vendor config`);
  }

  private route(host: string): { origin: string; agent: Dispatcher } {
    let route = this.agents.get(host);
    if (!route) {
      const origin = (this.endpoint.connectTo[host] ?? `https://${host}`).replace(/\/$/, "");
      const { timeouts } = this.endpoint;
      const servername = host.replace(/:\d+$/, "");
      const agent = new EnvHttpProxyAgent({
        connectTimeout: timeouts.connectMs,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.bodyMs,
        keepAliveTimeout: 30_000,
        connections: 32,
        connect: { servername },
        // Through a proxy's tunnel, TLS still names the vendor's host.
        requestTls: { servername },
      });
      this.agents.set(host, (route = { origin, agent }));
    }
    return route;
  }

  async send(req: SignedRequest, signal?: AbortSignal): Promise<RawAnswer> {
    const { origin, agent } = this.route(req.host);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(`${origin}${req.path}`, {
        method: req.method,
        headers: { ...req.headers, host: req.host },
        body: req.body,
        dispatcher: agent,
        signal,
      });
    } catch (error) {
      throw signal?.aborted ? error : transportFailure(error, req.host, origin);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw signal?.aborted ? error : transportFailure(error, req.host, origin);
    }
    return { status: response.statusCode, headers: response.headers, text };
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map(({ agent }) => agent.close()));
  }
}

/** Seconds from a Retry-After header (seconds or an HTTP date). */
export function retryAfterSeconds(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
