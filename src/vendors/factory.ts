/** A connector for a target: its mapping's vendor family, the endpoint with the target's overrides, credentials from the environment. */
import type { VendorConnection } from "../config/schema";
import type { CompiledMapping } from "../mapping/compile";
import { AliyunConnector } from "./aliyun/connector";
import { HuaweiConnector } from "./huawei/connector";
import { TencentConnector } from "./tencent/connector";
import type { Endpoint, VendorConnector } from "./types";
import { VolcengineConnector } from "./volcengine/connector";

const CREDENTIAL_KEYS: Record<string, { required: string[]; optional: string[] }> = {
  "aliyun-ccc": { required: ["accessKeyId", "accessKeySecret"], optional: ["securityToken"] },
  "tencent-ciam": { required: ["secretId", "secretKey"], optional: ["token"] },
  "tencent-cic": { required: ["secretId", "secretKey"], optional: ["token"] },
  "volcengine-cloudidentity": { required: ["accessKeyId", "secretAccessKey"], optional: ["sessionToken"] },
  "huawei-aicc": { required: ["appKey", "appSecret"], optional: [] },
};

export class VendorConfigError extends Error {}

/** Reads each credential from the environment variable the config names; a missing one is an error that names it. */
export function credentialsOf(vendor: string, connection: VendorConnection, env: NodeJS.ProcessEnv): Record<string, string> {
  const keys = CREDENTIAL_KEYS[vendor]!;
  const out: Record<string, string> = {};
  for (const key of [...keys.required, ...keys.optional]) {
    const variable = connection.credentials[key];
    if (variable === undefined) {
      if (keys.required.includes(key)) throw new VendorConfigError(`vendor.credentials.${key}: name the environment variable that holds it`);
      continue;
    }
    const value = env[variable];
    if (!value) throw new VendorConfigError(`vendor.credentials.${key}: environment variable ${variable} is not set`);
    out[key] = value;
  }
  const unknown = Object.keys(connection.credentials).filter((k) => !keys.required.includes(k) && !keys.optional.includes(k));
  if (unknown.length > 0) throw new VendorConfigError(`vendor.credentials: ${vendor} takes ${[...keys.required, ...keys.optional].join(", ")}, not ${unknown.join(", ")}`);
  return out;
}

export function endpointOf(mapping: CompiledMapping, connection: VendorConnection): Endpoint {
  const api = mapping.file.api;
  const host = connection.host ?? api.host;
  return {
    host,
    connectTo: typeof connection.connectTo === "string" ? { [host]: connection.connectTo } : (connection.connectTo ?? {}),
    allowInsecureHttp: connection.allowInsecureHttp,
    region: connection.region ?? api.region,
    version: connection.version ?? api.version,
    service: api.service,
    timeouts: connection.timeouts,
  };
}

export function createConnector(mapping: CompiledMapping, connection: VendorConnection, env: NodeJS.ProcessEnv = process.env): VendorConnector {
  const vendor = mapping.vendor;
  const endpoint = endpointOf(mapping, connection);
  const c = credentialsOf(vendor, connection, env);
  const errors = mapping.file.errors;
  switch (vendor) {
    case "aliyun-ccc":
      return new AliyunConnector(endpoint, errors, { accessKeyId: c.accessKeyId!, accessKeySecret: c.accessKeySecret!, securityToken: c.securityToken }, connection.signature ?? mapping.file.api.signature ?? "v2");
    case "tencent-ciam":
    case "tencent-cic":
      return new TencentConnector(vendor, endpoint, errors, { secretId: c.secretId!, secretKey: c.secretKey!, token: c.token });
    case "volcengine-cloudidentity":
      return new VolcengineConnector(endpoint, errors, { accessKeyId: c.accessKeyId!, secretAccessKey: c.secretAccessKey!, sessionToken: c.sessionToken });
    case "huawei-aicc":
      return new HuaweiConnector(endpoint, errors, { appKey: c.appKey!, appSecret: c.appSecret! }, mapping.file.api.tokenPath ?? "/apigovernance/api/oauth/tokenByAkSk");
  }
}
