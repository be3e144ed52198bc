/** Alibaba Cloud RPC APIs (CCC 2017-07-05): form-encoded POST, V2 or V3 signature, `Code`/`Success` envelope. */
import { BaseConnector } from "../connector-base";
import { signV2, signV3, type AliyunCredentials } from "../signing/aliyun";
import type { SignedRequest } from "../signing/crypto";
import type { Endpoint, Json, BuiltCall, Envelope, ErrorTable } from "../types";

/** RPC parameters are flat strings: lists become Name.1, Name.2 …; objects Name.Key. */
export function flattenRpc(params: Json, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value === undefined || value === null) continue;
    if (Array.isArray(value))
      value.forEach((v, i) => Object.assign(out, typeof v === "object" && v ? flattenRpc(v as Json, `${name}.${i + 1}`) : { [`${name}.${i + 1}`]: String(v) }));
    else if (typeof value === "object") Object.assign(out, flattenRpc(value as Json, name));
    else out[name] = String(value);
  }
  return out;
}

export class AliyunConnector extends BaseConnector {
  constructor(
    vendor: string,
    endpoint: Endpoint,
    errors: ErrorTable,
    envelope: Envelope,
    private readonly credentials: AliyunCredentials,
    private readonly signature: "v2" | "v3",
  ) {
    super(vendor, endpoint, errors, envelope);
  }

  async prepare(call: BuiltCall, now = new Date()): Promise<SignedRequest> {
    const rpc = {
      host: call.api?.host ?? this.endpoint.host,
      action: call.call,
      version: call.api?.version ?? this.endpoint.version,
      params: flattenRpc(call.params),
    };
    return this.signature === "v3" ? signV3(rpc, this.credentials, now, this.nonce()) : signV2(rpc, this.credentials, now, this.nonce());
  }
}
