/** Hashing and encoding primitives shared by the vendors' signature algorithms. */
import { createHash, createHmac } from "node:crypto";

export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export function hmac(algorithm: "sha1" | "sha256", key: string | Buffer, data: string): Buffer {
  return createHmac(algorithm, key).update(data, "utf8").digest();
}

/** RFC 3986 percent-encoding: unreserved characters stay, everything else is %XX in upper case. */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `k=v&…` sorted by encoded name (byte order), names and values RFC 3986-encoded. */
export function canonicalQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** A prepared HTTP request: what a connector sends, what `mappings preview` prints. */
export interface SignedRequest {
  method: "GET" | "POST";
  /** Path and query, e.g. "/?Action=CreateUser&Version=2023-01-01". */
  path: string;
  /** The vendor host the request is signed for (and sent as Host). */
  host: string;
  headers: Record<string, string>;
  body?: string;
}
