/**
 * Tencent Cloud TC3-HMAC-SHA256 (CIAM and Organization/CIC). The service in the credential scope is the
 * first DNS label of the host the request is signed for — never of an address it is sent to.
 */
import { hmac, sha256Hex, type SignedRequest } from "./crypto";

export interface Tc3Credentials {
  secretId: string;
  secretKey: string;
  token?: string;
}

export interface Tc3Call {
  host: string;
  action: string;
  version: string;
  region?: string;
  payload: unknown;
  language?: string;
}

export const TC3_CONTENT_TYPE = "application/json; charset=utf-8";

export function serviceOfHost(host: string): string {
  return host.split(".")[0]!;
}

function utcDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/** The signature over content-type and host, as Tencent's SDK computes it. */
export function tc3Signature(host: string, contentType: string, body: string, timestamp: number, secretKey: string): { signature: string; scope: string } {
  const service = serviceOfHost(host);
  const date = utcDate(timestamp);
  const canonicalRequest = ["POST", "/", "", `content-type:${contentType}\nhost:${host}\n`, "content-type;host", sha256Hex(body)].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const stringToSign = `TC3-HMAC-SHA256\n${timestamp}\n${scope}\n${sha256Hex(canonicalRequest)}`;
  const kDate = hmac("sha256", `TC3${secretKey}`, date);
  const kService = hmac("sha256", kDate, service);
  const kSigning = hmac("sha256", kService, "tc3_request");
  return { signature: hmac("sha256", kSigning, stringToSign).toString("hex"), scope };
}

export function signTc3(call: Tc3Call, credentials: Tc3Credentials, date: Date): SignedRequest {
  const timestamp = Math.floor(date.getTime() / 1000);
  const body = JSON.stringify(call.payload);
  const { signature, scope } = tc3Signature(call.host, TC3_CONTENT_TYPE, body, timestamp, credentials.secretKey);
  return {
    method: "POST",
    host: call.host,
    path: "/",
    headers: {
      host: call.host,
      "content-type": TC3_CONTENT_TYPE,
      authorization: `TC3-HMAC-SHA256 Credential=${credentials.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
      "x-tc-action": call.action,
      "x-tc-version": call.version,
      "x-tc-timestamp": String(timestamp),
      ...(call.region ? { "x-tc-region": call.region } : {}),
      ...(credentials.token ? { "x-tc-token": credentials.token } : {}),
      ...(call.language ? { "x-tc-language": call.language } : {}),
    },
    body,
  };
}
