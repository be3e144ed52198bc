/**
 * All outbound HTTP, through undici: one pooled dispatcher per target endpoint, with connect, header and
 * body timeouts. `connectTo` sends the request to another address while TLS (SNI) and Host stay the vendor's.
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
  private readonly agent: Agent;
  private readonly origin: string;

  constructor(endpoint: Endpoint) {
    const origin = endpoint.connectTo ?? `https://${endpoint.host}`;
    if (origin.startsWith("http://") && !endpoint.allowInsecureHttp)
      throw new Error(`plain http to ${origin} needs allowInsecureHttp: true in the target's vendor config`);
    this.origin = origin.replace(/\/$/, "");
    this.agent = new Agent({
      connectTimeout: endpoint.timeouts.connectMs,
      headersTimeout: endpoint.timeouts.headersMs,
      bodyTimeout: endpoint.timeouts.bodyMs,
      keepAliveTimeout: 30_000,
      connections: 32,
      connect: { servername: endpoint.host },
    });
  }

  async send(req: SignedRequest, signal?: AbortSignal): Promise<RawAnswer> {
    const response = await request(`${this.origin}${req.path}`, {
      method: req.method,
      headers: { ...req.headers, host: req.host },
      body: req.body,
      dispatcher: this.agent,
      signal,
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text };
  }

  async close(): Promise<void> {
    await this.agent.close();
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
