/**
 * How the sandboxes check a request's signature: with the vendors' own SDK code (Tencent's
 * tencentcloud-sdk-nodejs-common, Alibaba's @alicloud/openapi-util, Volcengine's @volcengine/openapi), fed
 * the request as it arrived. Never with the bridge's signers, so a mistake there is a refused request here.
 */
import OpenApiUtil from "@alicloud/openapi-util";
import { createHash } from "node:crypto";

// The SDKs' signers are CommonJS modules without typings for these entry points.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const TencentSign = require("tencentcloud-sdk-nodejs-common/tencentcloud/common/sign").default as {
  sign3(input: Record<string, unknown>): string;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const VolcSigner = require("@volcengine/openapi/lib/base/sign").default as new (
  request: { method: string; region: string; pathname: string; params: Record<string, string>; headers: Record<string, string>; body: string },
  service: string,
) => { addAuthorization(credentials: { accessKeyId: string; secretKey: string }, date: Date): void };

/** The Authorization header tencentcloud-sdk-nodejs-common would send for this request (TC3-HMAC-SHA256). */
export function tencentAuthorization(input: {
  host: string;
  service: string;
  body: string;
  contentType: string;
  timestamp: number;
  secretId: string;
  secretKey: string;
}): string {
  return TencentSign.sign3({
    method: "POST",
    url: `https://${input.host}/`,
    payload: Buffer.from(input.body, "utf8"),
    timestamp: input.timestamp,
    service: input.service,
    secretId: input.secretId,
    secretKey: input.secretKey,
    multipart: false,
    boundary: "",
    headers: { "Content-Type": input.contentType },
  });
}

/** Alibaba's RPC signature V2 (HMAC-SHA1) over the request's parameters, Signature left out. */
export function aliyunRpcSignature(params: Record<string, string>, method: string, secret: string): string {
  return OpenApiUtil.getRPCSignature(params, method, secret);
}

/** Alibaba's ACS3-HMAC-SHA256 Authorization for the request's query and signed headers. */
export function aliyunAcs3Authorization(input: {
  method: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  accessKeyId: string;
  secret: string;
}): string {
  const hash = createHash("sha256").update(input.body).digest("hex");
  return OpenApiUtil.getAuthorization(
    { method: input.method, pathname: "/", query: input.query, headers: input.headers } as never,
    "ACS3-HMAC-SHA256",
    hash,
    input.accessKeyId,
    input.secret,
  );
}

/** The Authorization header @volcengine/openapi's Signer would send, at the request's X-Date. */
export function volcengineAuthorization(input: {
  method: string;
  region: string;
  service: string;
  query: Record<string, string>;
  host: string;
  body: string;
  xDate: string;
  accessKeyId: string;
  secretKey: string;
}): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(input.xDate);
  if (!m) return "";
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  const request = {
    method: input.method,
    region: input.region,
    pathname: "/",
    params: input.query,
    headers: { host: input.host } as Record<string, string>,
    body: input.body,
  };
  new VolcSigner(request, input.service).addAuthorization({ accessKeyId: input.accessKeyId, secretKey: input.secretKey }, date);
  return request.headers.Authorization ?? "";
}
