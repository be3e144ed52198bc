/** Volcengine OpenAPI (Cloud Identity): JSON POST with Action/Version in the query, `ResponseMetadata.Error`. */
import type { BuiltCall } from "../../mapping/compile";
import type { MappingFile } from "../../mapping/schema";
import { BaseConnector } from "../connector-base";
import type { RawAnswer } from "../http";
import type { SignedRequest } from "../signing/crypto";
import { signVolcengine, type VolcengineCredentials } from "../signing/volcengine";
import type { Endpoint, Json, ParsedAnswer } from "../types";

export class VolcengineConnector extends BaseConnector {
  constructor(
    vendor: string,
    endpoint: Endpoint,
    errors: MappingFile["errors"],
    private readonly credentials: VolcengineCredentials,
  ) {
    super(vendor, endpoint, errors);
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

  protected parse(_raw: RawAnswer, body: Json | undefined): ParsedAnswer {
    const meta = (body?.ResponseMetadata ?? {}) as Json;
    const error = meta.Error as { Code?: string; Message?: string } | undefined;
    return { ok: body !== undefined && !error, result: (body?.Result ?? {}) as Json, code: error?.Code, message: error?.Message, requestId: meta.RequestId as string | undefined };
  }
}
