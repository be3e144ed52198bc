/**
 * All outbound HTTP, through undici: one pooled dispatcher per vendor host, with connect, header and body
 * timeouts. `connectTo` sends a host's requests to another address while TLS (SNI) and Host stay the vendor's.
 */
import { Agent, request } from "undici";
import type { SignedRequest } from "./signing/crypto";
import type { Endpoint } from "./types";

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export class Transport {
  /** One pooled dispatcher per host: an operation of another product (RAM beside CCC) goes to its own host. */
  private readonly agents = new Map<string, { origin: string; agent: Agent }>();

  constructor(private readonly endpoint: Endpoint) {
    for (const [host, origin] of Object.entries(endpoint.connectTo))
      if (origin.startsWith("http://") && !endpoint.allowInsecureHttp)
        throw new Error(`plain http to ${origin} (for ${host}) needs allowInsecureHttp: true in the target's vendor config`);
  }

  private route(host: string): { origin: string; agent: Agent } {
    let route = this.agents.get(host);
    if (!route) {
      const origin = (this.endpoint.connectTo[host] ?? `https://${host}`).replace(/\/$/, "");
      const { timeouts } = this.endpoint;
      const agent = new Agent({
        connectTimeout: timeouts.connectMs,
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.bodyMs,
        keepAliveTimeout: 30_000,
        connections: 32,
        connect: { servername: host.replace(/:\d+$/, "") },
      });
      this.agents.set(host, (route = { origin, agent }));
    }
    return route;
  }

  async send(req: SignedRequest, signal?: AbortSignal): Promise<RawAnswer> {
    const { origin, agent } = this.route(req.host);
    const response = await request(`${origin}${req.path}`, {
      method: req.method,
      headers: { ...req.headers, host: req.host },
      body: req.body,
      dispatcher: agent,
      signal,
    });
    const text = await response.body.text();
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
