/**
 * Alibaba Cloud RPC signatures. V2 (HMAC-SHA1, SignatureVersion 1.0) is what the CCC 2017-07-05 SDK uses;
 * V3 (ACS3-HMAC-SHA256) is what current Alibaba SDKs default to. Both are selectable per target.
 */
import { canonicalQuery, hmac, rfc3986, sha256Hex, type SignedRequest } from "./crypto";

export interface AliyunCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export interface AliyunCall {
  host: string;
  action: string;
  version: string;
  /** Business parameters, already flattened (RoleId.1, RoleId.2 …). */
  params: Record<string, string>;
  method?: "GET" | "POST";
}

/** UTC YYYY-MM-DDThh:mm:ssZ, no milliseconds. */
export function aliyunTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** V2: Signature = Base64(HMAC-SHA1(secret + "&", METHOD & enc("/") & enc(canonicalQuery))). */
export function signatureV2(method: string, params: Record<string, string>, accessKeySecret: string): string {
  const stringToSign = `${method}&${rfc3986("/")}&${rfc3986(canonicalQuery(params))}`;
  return hmac("sha1", `${accessKeySecret}&`, stringToSign).toString("base64");
}

export function signV2(call: AliyunCall, credentials: AliyunCredentials, date: Date, nonce: string): SignedRequest {
  const method = call.method ?? "POST";
  const params: Record<string, string> = {
    ...call.params,
    Action: call.action,
    Version: call.version,
    Format: "JSON",
    AccessKeyId: credentials.accessKeyId,
    SignatureMethod: "HMAC-SHA1",
    SignatureVersion: "1.0",
    SignatureNonce: nonce,
    Timestamp: aliyunTimestamp(date),
    ...(credentials.securityToken ? { SecurityToken: credentials.securityToken } : {}),
  };
  const signed = `${canonicalQuery(params)}&Signature=${rfc3986(signatureV2(method, params, credentials.accessKeySecret))}`;
  if (method === "GET") return { method, host: call.host, path: `/?${signed}`, headers: { host: call.host } };
  return {
    method,
    host: call.host,
    path: "/",
    headers: { host: call.host, "content-type": "application/x-www-form-urlencoded" },
    body: signed,
  };
}

/** V3: business parameters in the query, signed headers x-acs-*, host, content-type. */
export function signV3(call: AliyunCall, credentials: AliyunCredentials, date: Date, nonce: string): SignedRequest {
  const method = call.method ?? "POST";
  const body = "";
  const payloadHash = sha256Hex(body);
  const headers: Record<string, string> = {
    host: call.host,
    "x-acs-action": call.action,
    "x-acs-version": call.version,
    "x-acs-date": aliyunTimestamp(date),
    "x-acs-signature-nonce": nonce,
    "x-acs-content-sha256": payloadHash,
    ...(credentials.securityToken ? { "x-acs-security-token": credentials.securityToken } : {}),
  };
  const query = Object.keys(call.params)
    .sort()
    .map((k) => `${k}=${rfc3986(call.params[k]!)}`)
    .join("&");
  const authorization = authorizationV3(method, "/", query, headers, payloadHash, credentials);
  return { method, host: call.host, path: query ? `/?${query}` : "/", headers: { ...headers, authorization } };
}

export function authorizationV3(
  method: string,
  pathname: string,
  query: string,
  headers: Record<string, string>,
  payloadHash: string,
  credentials: AliyunCredentials,
): string {
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .filter((h) => h.startsWith("x-acs-") || h === "host" || h === "content-type")
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonicalHeaders = names.map((n) => `${n}:${String(lower[n]).trim()}\n`).join("");
  const canonicalRequest = [method, pathname, query, canonicalHeaders, names.join(";"), payloadHash].join("\n");
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`;
  const signature = hmac("sha256", credentials.accessKeySecret, stringToSign).toString("hex");
  return `ACS3-HMAC-SHA256 Credential=${credentials.accessKeyId},SignedHeaders=${names.join(";")},Signature=${signature}`;
}
