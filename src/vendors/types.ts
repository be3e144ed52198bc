/**
 * The wire vocabulary: the vendor request a mapping builds, where a vendor's answers keep their parts, the
 * error table that classifies them, and what a vendor connector is. Connectors know nothing of mappings.
 */
import type { SignedRequest } from "./signing/crypto";

import type { Json } from "../lib/json";

export type { Json };

export const ERROR_CLASSES = ["conflict", "notFound", "invalid", "throttled", "transient", "auth"] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** One vendor call, built from a mapping and a SCIM user: what the connector signs and sends. */
export interface BuiltCall {
  operation: string;
  call: string;
  /** Another product's endpoint for this call, when the operation names one. */
  api?: { host: string; version: string };
  params: Json;
  /** Parameters that identify rather than describe (key, constants): always sent with a patch. */
  identity: string[];
  /** Names of parameters that hold secrets (masked in logs and previews). */
  secretParams: string[];
}

/**
 * Where a vendor's answer keeps its parts (dotted paths into the JSON body). Each protocol has defaults
 * (protocols.ts); a mapping's `api.envelope` overrides any of them for its vendor.
 */
export interface Envelope {
  /** The result of a successful call ("" for the whole body). */
  result: string;
  /** The error code; present on every answer where `successCodes` says which ones are success. */
  code: string;
  message: string;
  requestId?: string;
  /** Codes that mean success. Without it, any code present means failure. */
  successCodes?: string[];
  /** With successCodes: an answer with no code at all is a success too (Alibaba's RAM answers carry none). */
  codeOptional?: boolean;
  /** A field that, when present, must be true on success (Alibaba's `Success`). */
  successFlag?: string;
}

/**
 * Which of a vendor's error codes mean which class (an entry is a code, a `prefix*` or a `/regex/`), and
 * what an HTTP status means at this vendor where it differs from the usual reading.
 */
export type ErrorTable = Record<ErrorClass, string[]> & { statuses: Record<string, ErrorClass> };

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
