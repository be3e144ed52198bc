/** Volcengine OpenAPI (Cloud Identity): JSON POST with Action/Version in the query, `ResponseMetadata.Error`. */
import { BaseConnector } from "../connector-base";
import type { SignedRequest } from "../signing/crypto";
import { signVolcengine, type VolcengineCredentials } from "../signing/volcengine";
import type { Endpoint, BuiltCall, Envelope, ErrorTable } from "../types";

export class VolcengineConnector extends BaseConnector {
  constructor(
    vendor: string,
    endpoint: Endpoint,
    errors: ErrorTable,
    envelope: Envelope,
    private readonly credentials: VolcengineCredentials,
  ) {
    super(vendor, endpoint, errors, envelope);
  }

  async prepare(call: BuiltCall, now = new Date()): Promise<SignedRequest> {
    return signVolcengine(
      {
        host: this.endpoint.host,
        action: call.call,
        version: this.endpoint.version,
        region: this.endpoint.region ?? "cn-beijing",
        service: this.endpoint.service ?? "cloudidentity",
        payload: call.params,
      },
      this.credentials,
      now,
    );
  }
}
