/** Volcengine HMAC-SHA256 (Cloud Identity): like SigV4 with its own prefix, key chain and `request` terminator. */
import { canonicalQuery, hmac, sha256Hex, type SignedRequest } from "./crypto";

export interface VolcengineCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface VolcengineCall {
  host: string;
  action: string;
  version: string;
  region: string;
  service: string;
  payload: unknown;
}

export const VOLC_CONTENT_TYPE = "application/json; charset=utf-8";

/** YYYYMMDDTHHMMSSZ */
export function xDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

export function volcengineSignature(
  method: string,
  query: Record<string, string>,
  headers: Record<string, string>,
  signedNames: string[],
  bodyHash: string,
  region: string,
  service: string,
  secret: string,
): { signature: string; scope: string } {
  const date = headers["x-date"]!;
  const canonicalHeaders = signedNames.map((n) => `${n}:${headers[n]!.trim()}\n`).join("");
  const canonicalRequest = [method, "/", canonicalQuery(query), canonicalHeaders, signedNames.join(";"), bodyHash].join("\n");
  const day = date.slice(0, 8);
  const scope = `${day}/${region}/${service}/request`;
  const stringToSign = `HMAC-SHA256\n${date}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const kDate = hmac("sha256", secret, day);
  const kRegion = hmac("sha256", kDate, region);
  const kService = hmac("sha256", kRegion, service);
  const kSigning = hmac("sha256", kService, "request");
  return { signature: hmac("sha256", kSigning, stringToSign).toString("hex"), scope };
}

export function signVolcengine(call: VolcengineCall, credentials: VolcengineCredentials, date: Date): SignedRequest {
  const body = JSON.stringify(call.payload);
  const bodyHash = sha256Hex(body);
  const query = { Action: call.action, Version: call.version };
  const headers: Record<string, string> = {
    host: call.host,
    "x-date": xDate(date),
    "x-content-sha256": bodyHash,
    ...(credentials.sessionToken ? { "x-security-token": credentials.sessionToken } : {}),
  };
  const signedNames = Object.keys(headers).sort();
  const { signature, scope } = volcengineSignature("POST", query, headers, signedNames, bodyHash, call.region, call.service, credentials.secretAccessKey);
  return {
    method: "POST",
    host: call.host,
    path: `/?${canonicalQuery(query)}`,
    headers: {
      ...headers,
      "content-type": VOLC_CONTENT_TYPE,
      authorization: `HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedNames.join(";")}, Signature=${signature}`,
    },
    body,
  };
}
