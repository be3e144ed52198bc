/**
 * The wire protocols the bridge speaks, by the name a mapping file gives in `api.protocol`: how requests
 * are signed or authorised, which credentials that takes, and how answers are opened (each protocol's
 * envelope). A new vendor on one of these protocols is a mapping file and nothing else.
 */
import type { CompiledMapping } from "../mapping/compile";
import type { MappingFile } from "../mapping/schema";
import { AliyunConnector } from "./aliyun/connector";
import { HuaweiConnector } from "./huawei/connector";
import { TencentConnector } from "./tencent/connector";
import type { Endpoint, VendorConnector } from "./types";
import { VolcengineConnector } from "./volcengine/connector";

export const PROTOCOLS = ["aliyun-rpc-v2", "aliyun-acs3", "tencent-tc3", "volcengine-v4", "bearer-token-exchange"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

type Credentials = Record<string, string | undefined>;

export interface ProtocolSpec {
  /** Credential names (config `vendor.credentials` keys, each naming an environment variable). */
  credentials: { required: string[]; optional: string[] };
  connector(vendor: string, endpoint: Endpoint, errors: MappingFile["errors"], credentials: Credentials, mapping: CompiledMapping): VendorConnector;
}

const aliyun = (signature: "v2" | "v3"): ProtocolSpec => ({
  credentials: { required: ["accessKeyId", "accessKeySecret"], optional: ["securityToken"] },
  connector: (vendor, endpoint, errors, c) => new AliyunConnector(vendor, endpoint, errors, { accessKeyId: c.accessKeyId!, accessKeySecret: c.accessKeySecret!, securityToken: c.securityToken }, signature),
});

export const PROTOCOL_REGISTRY: Record<Protocol, ProtocolSpec> = {
  /** Alibaba Cloud RPC, signature V2 (HMAC-SHA1): the CCC 2017-07-05 SDK's. */
  "aliyun-rpc-v2": aliyun("v2"),
  /** Alibaba Cloud RPC, signature V3 (ACS3-HMAC-SHA256): what current Alibaba SDKs default to. */
  "aliyun-acs3": aliyun("v3"),
  /** Tencent Cloud API 3.0 (TC3-HMAC-SHA256), the service taken from the host. */
  "tencent-tc3": {
    credentials: { required: ["secretId", "secretKey"], optional: ["token"] },
    connector: (vendor, endpoint, errors, c) => new TencentConnector(vendor, endpoint, errors, { secretId: c.secretId!, secretKey: c.secretKey!, token: c.token }),
  },
  /** Volcengine OpenAPI (HMAC-SHA256, V4-style). */
  "volcengine-v4": {
    credentials: { required: ["accessKeyId", "secretAccessKey"], optional: ["sessionToken"] },
    connector: (vendor, endpoint, errors, c) => new VolcengineConnector(vendor, endpoint, errors, { accessKeyId: c.accessKeyId!, secretAccessKey: c.secretAccessKey!, sessionToken: c.sessionToken }),
  },
  /** No request signing: a bearer token exchanged for an app key and secret (Huawei's tokenByAkSk), refreshed on 401. */
  "bearer-token-exchange": {
    credentials: { required: ["appKey", "appSecret"], optional: [] },
    connector: (vendor, endpoint, errors, c, mapping) =>
      new HuaweiConnector(vendor, endpoint, errors, { appKey: c.appKey!, appSecret: c.appSecret! }, mapping.file.api.tokenPath ?? "/apigovernance/api/oauth/tokenByAkSk"),
  },
};
