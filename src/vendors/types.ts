/** What a vendor connector is, and how every vendor answer is normalised. */
import type { BuiltCall } from "../mapping/compile";
import type { SignedRequest } from "./signing/crypto";

export type Json = Record<string, unknown>;

export const ERROR_CLASSES = ["conflict", "notFound", "invalid", "throttled", "transient", "auth"] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

export type VendorOutcome =
  | { kind: "success"; result: Json; status: number; requestId?: string }
  | { kind: ErrorClass; code: string; message: string; status: number; requestId?: string; retryAfter?: number };

/** A vendor answer before classification: the envelope opened, the error (if any) pulled out. */
export interface ParsedAnswer {
  ok: boolean;
  result: Json;
  code?: string;
  message?: string;
  requestId?: string;
}

export interface VendorConnector {
  readonly vendor: string;
  /**
   * The exact request a call becomes, signed. The Huawei connector fetches its token first, unless
   * `offline` (a preview), when a placeholder stands where the token goes.
   */
  prepare(call: BuiltCall, now?: Date, offline?: boolean): Promise<SignedRequest>;
  invoke(call: BuiltCall, signal?: AbortSignal): Promise<VendorOutcome>;
  close(): Promise<void>;
}

/** Where and how to reach a vendor, per target. */
export interface Endpoint {
  /** The vendor host requests are signed for and carry as Host. */
  host: string;
  /** Where to connect instead, per host (private link, proxy, test double); each request stays signed for its host. */
  connectTo: Record<string, string>;
  allowInsecureHttp: boolean;
  region?: string;
  version: string;
  service?: string;
  timeouts: { connectMs: number; headersMs: number; bodyMs: number };
}

/** A protocol's credential exchange (a bearer token for an app key and secret) refused the credentials: an auth failure, not a vendor answer. */
export class CredentialExchangeError extends Error {}
