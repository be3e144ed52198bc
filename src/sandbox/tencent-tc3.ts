/**
 * Tencent Cloud API 3.0 as its simulators share it: TC3-HMAC-SHA256 verification (the official SDK's
 * signature), version and region checks, the SDK models' parameter checks, the `Response` envelope and the
 * common error codes. The products are tencent-ciam.ts and tencent-cic.ts.
 */
import { ownEntry } from "../lib/own-entry";
import { tencentAuthorization } from "./sdk-signatures";
import {
  checkModel,
  header,
  VendorError,
  VendorSandbox,
  type ActionModel,
  type Json,
  type SandboxRequest,
  type SandboxResponse,
  type SandboxUser,
} from "./sandbox";

export interface Tc3Secret {
  secretId: string;
  secretKey: string;
}

const SKEW_SECONDS = 300;

/** Tencent Cloud API 3.0's common error codes: any action may answer them (beside its model's own). */
export const TENCENT_COMMON_CODES = new Set([
  "FailedOperation",
  "InternalError",
  "InvalidAction",
  "InvalidParameter",
  "InvalidParameterValue",
  "LimitExceeded",
  "MissingParameter",
  "RequestLimitExceeded",
  "ResourceNotFound",
  "UnknownParameter",
  "UnsupportedOperation",
]);

export abstract class TencentSandbox extends VendorSandbox {
  protected abstract readonly version: string;
  protected abstract readonly actions: Record<string, (params: Json) => Json>;
  /** The SDK models' request parameters per action; an action without one is not checked this way. */
  protected readonly models: Record<string, ActionModel> = {};
  protected regionRequired = false;

  constructor(
    readonly host: string,
    private readonly secret: Tc3Secret,
  ) {
    super();
  }

  protected dispatch(req: SandboxRequest) {
    const action = header(req.headers, "x-tc-action");
    this.verify(req);
    if (header(req.headers, "x-tc-version") !== this.version) throw new VendorError(200, "InvalidParameter", `Version must be ${this.version}`);
    if (this.regionRequired && !header(req.headers, "x-tc-region"))
      throw new VendorError(200, "MissingParameter", "The request is missing a required parameter `Region`.");
    const handler = ownEntry(this.actions, action);
    if (!handler) throw new VendorError(200, "InvalidAction", `The action ${action} is not supported`);
    let params: Json;
    try {
      params = JSON.parse(req.body || "{}") as Json;
    } catch {
      throw new VendorError(200, "InvalidParameter", "The body is not JSON");
    }
    const model = ownEntry(this.models, action);
    // Tencent Cloud API 3.0's common error codes for a request that does not fit the action's model.
    if (model)
      checkModel(model, params, (problem, name, expected) =>
        problem === "unknown"
          ? this.invalid("UnknownParameter", `The parameter \`${name}\` is not recognized.`)
          : problem === "type"
            ? this.invalid("InvalidParameter", `The parameter \`${name}\` must be of type ${expected}.`)
            : problem === "invalid"
              ? this.invalid("InvalidParameterValue", `The value of \`${name}\` must be ${expected}.`)
              : this.invalid("MissingParameter", `The request is missing a required parameter \`${name}\`.`),
      );
    return { action, params, run: () => this.answered(action, () => handler(params)) };
  }

  /**
   * Runs an action, holding it to its model's error list: an action-specific code the SDK does not list for
   * the action is a fault of the sandbox, never an answer.
   */
  private answered(action: string, run: () => Json): Json {
    try {
      return run();
    } catch (error) {
      const errors = ownEntry(this.models, action)?.errors;
      if (error instanceof VendorError && errors && !TENCENT_COMMON_CODES.has(error.code) && !errors.includes(error.code))
        throw new Error(`${action} answered ${error.code}, which its model does not list`, { cause: error });
      throw error;
    }
  }

  /** TC3-HMAC-SHA256 as Tencent's gateway checks it: credential, scope, timestamp, and the signature the official SDK computes. */
  private verify(req: SandboxRequest): void {
    const auth = header(req.headers, "authorization");
    const m = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d{2}-\d{2})\/([^/]+)\/tc3_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new VendorError(200, "AuthFailure.SignatureFailure", "The Authorization header is not a TC3-HMAC-SHA256 signature.");
    const [, secretId, , service, signedHeaders] = m;
    if (secretId !== this.secret.secretId) throw new VendorError(200, "AuthFailure.SecretIdNotFound", "The SecretId is not found.");
    if (header(req.headers, "host") !== this.host)
      throw new VendorError(200, "AuthFailure.SignatureFailure", `The request is signed for ${header(req.headers, "host")}, not ${this.host}.`);
    // The service is the host's first label (the SDK's rule: ciam.tencentcloudapi.com → ciam).
    const expectedService = this.host.split(".")[0]!;
    if (service !== expectedService)
      throw new VendorError(200, "AuthFailure.SignatureFailure", `The credential scope names service '${service}', expected '${expectedService}'.`);
    if (signedHeaders !== "content-type;host") throw new VendorError(200, "AuthFailure.SignatureFailure", "SignedHeaders must be content-type;host.");
    const timestamp = Number(header(req.headers, "x-tc-timestamp"));
    if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > SKEW_SECONDS)
      throw new VendorError(200, "AuthFailure.SignatureExpire", "The signature is expired: the timestamp differs from server time by more than 5 minutes.");
    const expected = tencentAuthorization({
      host: this.host,
      service: expectedService,
      body: req.body,
      contentType: header(req.headers, "content-type"),
      timestamp,
      secretId: secretId!,
      secretKey: this.secret.secretKey,
    });
    if (expected !== auth) throw new VendorError(200, "AuthFailure.SignatureFailure", "The provided credentials could not be validated.");
  }

  protected success(_action: string, result: Json): SandboxResponse {
    return { status: 200, body: { Response: { ...result, RequestId: this.requestId() } } };
  }

  protected failure(_action: string, error: VendorError): SandboxResponse {
    // Tencent answers errors with HTTP 200 and Response.Error, except real HTTP-level failures.
    return { status: error.status, body: { Response: { Error: { Code: error.code, Message: error.message }, RequestId: this.requestId() } } };
  }

  /** Tencent Cloud API 3.0's common throttling code (shared/vendors.md §2.3, §5.1), in the HTTP 200 envelope. */
  protected override throttlingError(): VendorError {
    return new VendorError(200, "RequestLimitExceeded", "The number of requests exceeds the frequency limit.");
  }

  /** API 3.0's common InternalError (§2.3's retry codes, `InternalError*`), in the HTTP 200 envelope. */
  protected override outageError(): VendorError {
    return new VendorError(200, "InternalError", "An internal error has occurred. Retry your request, but if the problem persists, contact us.");
  }

  protected invalid(code: string, message: string): VendorError {
    return new VendorError(200, code, message);
  }

  protected findBy(field: string, value: unknown): SandboxUser | undefined {
    if (value === undefined) return undefined;
    const wanted = String(value).toLowerCase();
    return [...this.users.values()].find((u) => String(u[field] ?? "").toLowerCase() === wanted);
  }
}
