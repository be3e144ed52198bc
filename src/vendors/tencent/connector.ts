/** Tencent Cloud API 3.0 (CIAM, Organization/CIC): JSON POST, TC3 signature, `Response.Error` envelope. */
import { BaseConnector } from "../connector-base";
import type { SignedRequest } from "../signing/crypto";
import { signTc3, type Tc3Credentials } from "../signing/tc3";
import type { Endpoint, BuiltCall, Envelope, ErrorTable } from "../types";

export class TencentConnector extends BaseConnector {
  constructor(
    vendor: string,
    endpoint: Endpoint,
    errors: ErrorTable,
    envelope: Envelope,
    private readonly credentials: Tc3Credentials,
  ) {
    super(vendor, endpoint, errors, envelope);
  }

  async prepare(call: BuiltCall, now = new Date()): Promise<SignedRequest> {
    return signTc3(
      {
        host: call.api?.host ?? this.endpoint.host,
        action: call.call,
        version: call.api?.version ?? this.endpoint.version,
        region: this.endpoint.region,
        payload: call.params,
      },
      this.credentials,
      now,
    );
  }
}
