/**
 * The wire protocols the bridge speaks, by the name a mapping file gives in `api.protocol`: how requests
 * are signed or authorised, which credentials that takes, and how answers are opened (each protocol's
 * envelope). A new vendor on one of these protocols is a mapping file and nothing else.
 */
import { AliyunConnector } from "./aliyun/connector";
import { HuaweiConnector } from "./huawei/connector";
import { TencentConnector } from "./tencent/connector";
import type { Endpoint, Envelope, ErrorTable, VendorConnector } from "./types";
import { VolcengineConnector } from "./volcengine/connector";

export const PROTOCOLS = ["aliyun-rpc-v2", "aliyun-acs3", "tencent-tc3", "volcengine-v4", "bearer-token-exchange"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

type Credentials = Record<string, string | undefined>;

/** What a mapping may set for its protocol beyond the envelope. */
export interface ProtocolOptions {
  /** bearer-token-exchange: the token endpoint's path. */
  tokenPath?: string;
}

export interface ProtocolSpec {
  /** Credential names (config `vendor.credentials` keys, each naming an environment variable). */
  credentials: { required: string[]; optional: string[] };
  /** Where the protocol's answers keep their parts; a mapping's api.envelope overrides any of them. */
  envelope: Envelope;
  connector(vendor: string, endpoint: Endpoint, errors: ErrorTable, envelope: Envelope, credentials: Credentials, options: ProtocolOptions): VendorConnector;
}

const aliyun = (signature: "v2" | "v3"): ProtocolSpec => ({
  credentials: { required: ["accessKeyId", "accessKeySecret"], optional: ["securityToken"] },
  // RPC JSON: `{RequestId, Code, Message, …}`; CCC adds Code "OK" and Success on every answer, RAM neither.
  envelope: {
    result: "",
    code: "Code",
    message: "Message",
    requestId: "RequestId",
    successCodes: ["OK", "200", "Success"],
    codeOptional: true,
    successFlag: "Success",
  },
  connector: (vendor, endpoint, errors, envelope, c) =>
    new AliyunConnector(
      vendor,
      endpoint,
      errors,
      envelope,
      { accessKeyId: c.accessKeyId!, accessKeySecret: c.accessKeySecret!, securityToken: c.securityToken },
      signature,
    ),
});

export const PROTOCOL_REGISTRY: Record<Protocol, ProtocolSpec> = {
  /** Alibaba Cloud RPC, signature V2 (HMAC-SHA1): the CCC 2017-07-05 SDK's. */
  "aliyun-rpc-v2": aliyun("v2"),
  /** Alibaba Cloud RPC, signature V3 (ACS3-HMAC-SHA256): what current Alibaba SDKs default to. */
  "aliyun-acs3": aliyun("v3"),
  /** Tencent Cloud API 3.0 (TC3-HMAC-SHA256), the service taken from the host. */
  "tencent-tc3": {
    credentials: { required: ["secretId", "secretKey"], optional: ["token"] },
    envelope: { result: "Response", code: "Response.Error.Code", message: "Response.Error.Message", requestId: "Response.RequestId" },
    connector: (vendor, endpoint, errors, envelope, c) =>
      new TencentConnector(vendor, endpoint, errors, envelope, { secretId: c.secretId!, secretKey: c.secretKey!, token: c.token }),
  },
  /** Volcengine OpenAPI (HMAC-SHA256, V4-style). */
  "volcengine-v4": {
    credentials: { required: ["accessKeyId", "secretAccessKey"], optional: ["sessionToken"] },
    envelope: { result: "Result", code: "ResponseMetadata.Error.Code", message: "ResponseMetadata.Error.Message", requestId: "ResponseMetadata.RequestId" },
    connector: (vendor, endpoint, errors, envelope, c) =>
      new VolcengineConnector(vendor, endpoint, errors, envelope, {
        accessKeyId: c.accessKeyId!,
        secretAccessKey: c.secretAccessKey!,
        sessionToken: c.sessionToken,
      }),
  },
  /** No request signing: a bearer token exchanged for an app key and secret (Huawei's tokenByAkSk), refreshed on 401. */
  "bearer-token-exchange": {
    credentials: { required: ["appKey", "appSecret"], optional: [] },
    // Huawei's agent APIs: `{resultCode: "0" | "1", resultMessage, …}`; anything but "0" is a failure.
    envelope: { result: "", code: "resultCode", message: "resultMessage", successCodes: ["0"] },
    connector: (vendor, endpoint, errors, envelope, c, options) =>
      new HuaweiConnector(
        vendor,
        endpoint,
        errors,
        envelope,
        { appKey: c.appKey!, appSecret: c.appSecret! },
        options.tokenPath ?? "/apigovernance/api/oauth/tokenByAkSk",
      ),
  },
};

/** A protocol's envelope with a mapping's overrides. */
export function envelopeOf(protocol: Protocol, overrides: Partial<Envelope> = {}): Envelope {
  return { ...PROTOCOL_REGISTRY[protocol].envelope, ...overrides };
}
