/** Volcengine Cloud Identity 2023-01-01 simulator (seed 003): HMAC-SHA256 verification, byte limits, 404 duplicates. */
import { createHash, randomUUID } from "node:crypto";
import { volcengineAuthorization } from "./sdk-signatures";
import {
  bytesOf,
  checkModel,
  header,
  requireParams,
  type ActionModel,
  VendorError,
  VendorSandbox,
  type Json,
  type SandboxRequest,
  type SandboxResponse,
  type SandboxUser,
} from "./sandbox";

export interface VolcSecret {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * Cloud Identity 2023-01-01 request models (volcengine-go-sdk service/cloudidentity *Input structs;
 * shared/vendors.md §4.2). A parameter outside them, or of the wrong JSON type, is InvalidParam (seed).
 */
const MODELS: Record<string, ActionModel> = {
  CreateUser: { params: { UserName: "string", DisplayName: "string", Description: "string", Email: "string", Phone: "string" }, required: ["UserName"] },
  UpdateUser: {
    params: { UserId: "string", UserName: "string", DisplayName: "string", Description: "string", Email: "string", Phone: "string" },
    required: ["UserId"],
  },
  DeleteUser: { params: { UserId: "string" }, required: ["UserId"] },
  GetUser: { params: { UserId: "string" }, required: ["UserId"] },
  ListUsers: { params: { PageNumber: "integer", PageSize: "integer", QueryString: "string", UserName: "string", Source: "string" }, required: [] },
  ResetPassword: {
    params: { UserId: "string", Password: "string", GenerateRandomPassword: "boolean", PasswordResetRequired: "boolean" },
    required: ["UserId", "GenerateRandomPassword", "PasswordResetRequired"],
  },
  CreateGroup: { params: { GroupName: "string", DisplayName: "string", Description: "string", JoinType: "string" }, required: ["GroupName"] },
  DeleteGroup: { params: { GroupId: "string" }, required: ["GroupId"] },
  ListGroups: { params: { PageNumber: "integer", PageSize: "integer", QueryString: "string", GroupName: "string" }, required: [] },
  AddUserToGroup: { params: { GroupId: "string", UserId: "string" }, required: ["GroupId", "UserId"] },
  RemoveUserFromGroup: { params: { GroupId: "string", UserId: "string" }, required: ["GroupId", "UserId"] },
};

/** The user fields' byte limits that CreateUser and UpdateUser both enforce. */
const FIELD_BYTES = [
  ["UserName", 54],
  ["DisplayName", 64],
  ["Description", 255],
  ["Email", 128],
  ["Phone", 20],
] as const;

function checkLengths(p: Json): void {
  for (const [field, max] of FIELD_BYTES)
    if (bytesOf(p[field]) > max) throw new VendorError(400, "InvalidParam", `The parameter ${field}[${String(p[field])}] is invalid`);
}

export class VolcengineSandbox extends VendorSandbox {
  readonly host = "open.volcengineapi.com";
  private lastAction = "";

  constructor(
    private readonly secret: VolcSecret,
    readonly region = "cn-beijing",
  ) {
    super();
  }

  private readonly actions: Record<string, (p: Json) => Json> = {
    CreateUser: (p) => {
      requireParams(p, ["UserName"], () => new VendorError(400, "InvalidParam", "The parameter UserName[] is invalid"));
      checkLengths(p);
      if (this.byName(p.UserName)) throw new VendorError(404, "UserNameAlreadyExists", "User name already exists");
      const now = new Date().toISOString();
      const user: SandboxUser = { id: `u-${randomUUID().slice(0, 12)}`, ...p, Source: "Manual", CreatedTime: now, UpdatedTime: now };
      this.users.set(user.id, user);
      return this.view(user);
    },
    UpdateUser: (p) => {
      const user = this.userOf(p.UserId);
      checkLengths(p);
      const other = p.UserName === undefined ? undefined : this.byName(p.UserName);
      if (other && other.id !== user.id) throw new VendorError(404, "UserNameAlreadyExists", "User name already exists");
      const { UserId, ...fields } = p;
      void UserId;
      Object.assign(user, fields, { UpdatedTime: new Date().toISOString() });
      return this.view(user);
    },
    DeleteUser: (p) => {
      const user = this.userOf(p.UserId);
      this.users.delete(user.id);
      for (const g of this.groups.values()) g.members.delete(user.id);
      return {};
    },
    ResetPassword: (p) => {
      const user = this.userOf(p.UserId);
      // The Go SDK model (ResetPasswordInput) marks both flags required, as booleans.
      for (const flag of ["GenerateRandomPassword", "PasswordResetRequired"])
        if (typeof p[flag] !== "boolean") throw new VendorError(400, "InvalidParam", `The parameter ${flag} is invalid`);
      if (p.GenerateRandomPassword === true) {
        user.PasswordSetAt = Date.now();
        return { Password: "generated-by-volcengine" };
      }
      if (typeof p.Password !== "string" || p.Password.length < 8) throw new VendorError(400, "InvalidParam", "The parameter Password is invalid");
      user.PasswordSetAt = Date.now();
      return {};
    },
    CreateGroup: (p) => {
      requireParams(p, ["GroupName"], () => new VendorError(400, "InvalidParam", "The parameter GroupName[] is invalid"));
      if (bytesOf(p.GroupName) > 64) throw new VendorError(400, "InvalidParam", `The parameter GroupName[${String(p.GroupName)}] is invalid`);
      if ([...this.groups.values()].some((g) => g.name === p.GroupName)) throw new VendorError(400, "GroupNameAlreadyExists", "Group name already exists");
      const group = this.seedGroup(`g-${randomUUID().slice(0, 10)}`, String(p.GroupName));
      return { GroupId: group.id, GroupName: group.name };
    },
    ListGroups: (p) => {
      const all = [...this.groups.values()].filter((g) => p.GroupName === undefined || g.name === p.GroupName);
      return { Groups: all.map((g) => ({ GroupId: g.id, GroupName: g.name })), Total: all.length };
    },
    DeleteGroup: (p) => {
      if (!this.groups.delete(String(p.GroupId))) throw new VendorError(404, "GroupNotExist", "Group does not exist");
      return {};
    },
    AddUserToGroup: (p) => {
      const group = this.groups.get(String(p.GroupId));
      if (!group) throw new VendorError(404, "GroupNotExist", "Group does not exist");
      const user = this.userOf(p.UserId);
      if (group.members.has(user.id)) throw new VendorError(400, "UserAlreadyInGroup", "User already in group");
      group.members.add(user.id);
      return {};
    },
    RemoveUserFromGroup: (p) => {
      const group = this.groups.get(String(p.GroupId));
      if (!group) throw new VendorError(404, "GroupNotExist", "Group does not exist");
      if (!group.members.delete(String(p.UserId))) throw new VendorError(404, "UserNotInGroup", "User is not in group");
      return {};
    },
    ListUsers: (p) => {
      const size = Number(p.PageSize ?? 10);
      const number = Number(p.PageNumber ?? 1);
      if (!(size >= 1 && size <= 100) || !(number >= 1)) throw new VendorError(400, "InvalidParam", "The parameter PageSize[] is invalid");
      const all = [...this.users.values()].filter((u) => p.UserName === undefined || String(u.UserName) === String(p.UserName));
      return { Users: all.slice((number - 1) * size, number * size).map((u) => this.view(u)), Total: all.length };
    },
  };

  protected dispatch(req: SandboxRequest) {
    const action = req.query.get("Action") ?? "";
    this.lastAction = action;
    this.verify(req);
    if (req.query.get("Version") !== "2023-01-01") throw new VendorError(400, "InvalidParam", "The parameter Version is invalid");
    const handler = this.actions[action];
    if (!handler) throw new VendorError(404, "InvalidActionOrVersion", `Could not find operation ${action}`);
    const params = JSON.parse(req.body || "{}") as Json;
    const model = MODELS[action];
    if (model)
      checkModel(
        model,
        params,
        (problem, name, expected) =>
          new VendorError(
            400,
            "InvalidParam",
            problem === "type" ? `The parameter ${name} is invalid: expected ${expected}` : `The parameter ${name}[] is invalid`,
          ),
      );
    return { action, params, run: () => handler(params) };
  }

  private verify(req: SandboxRequest): void {
    const auth = header(req.headers, "authorization");
    const m = /^HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new VendorError(401, "InvalidAuthorization", "The Authorization header is malformed.");
    const [, ak, day, region, service, signed] = m;
    if (ak !== this.secret.accessKeyId) throw new VendorError(401, "InvalidAccessKey", "The access key is not found.");
    if (service !== "cloudidentity" || region !== this.region)
      throw new VendorError(401, "SignatureDoesNotMatch", `The scope ${region}/${service} does not match ${this.region}/cloudidentity.`);
    const names = signed!.split(";");
    if (!names.includes("x-date")) throw new VendorError(401, "SignatureDoesNotMatch", "x-date must be signed.");
    const lower: Record<string, string> = {};
    for (const n of names) lower[n] = header(req.headers, n);
    if (lower["x-date"]!.slice(0, 8) !== day) throw new VendorError(401, "SignatureDoesNotMatch", "The scope date differs from X-Date.");
    const bodyHash = createHash("sha256").update(req.body).digest("hex");
    if (header(req.headers, "x-content-sha256") && header(req.headers, "x-content-sha256") !== bodyHash)
      throw new VendorError(401, "SignatureDoesNotMatch", "X-Content-Sha256 does not match the body.");
    const query = Object.fromEntries(req.query.entries());
    const expected = volcengineAuthorization({
      method: req.method,
      region: region!,
      service: service!,
      query,
      host: header(req.headers, "host"),
      body: req.body,
      xDate: lower["x-date"]!,
      accessKeyId: ak!,
      secretKey: this.secret.secretAccessKey,
    });
    if (expected !== auth)
      throw new VendorError(401, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
  }

  /**
   * Volcengine's OpenAPI gateway code for a caller over the basic rate limit, HTTP 429 (its common error
   * codes; shared/vendors.md §4.2 finds none specific to cloudidentity, the mapping lists the generic ones).
   */
  protected override throttlingError(): VendorError {
    return new VendorError(429, "FlowLimitExceeded", "The request rate exceeds the basic flow limit.");
  }

  /** The gateway's "service temporarily unavailable", HTTP 503 (beside §4.2's 500 InternalError). */
  protected override outageError(): VendorError {
    return new VendorError(503, "ServiceUnavailableTemp", "The service is temporarily unavailable.");
  }

  private meta(action: string): Json {
    return { RequestId: this.requestId().replace(/-/g, ""), Action: action, Version: "2023-01-01", Service: "cloudidentity", Region: this.region };
  }

  protected success(action: string, result: Json): SandboxResponse {
    return { status: 200, body: { ResponseMetadata: this.meta(action), Result: result } };
  }

  protected failure(action: string, error: VendorError): SandboxResponse {
    return {
      status: error.status,
      body: { ResponseMetadata: { ...this.meta(action === "?" ? this.lastAction : action), Error: { Code: error.code, Message: error.message } } },
    };
  }

  private userOf(id: unknown): SandboxUser {
    const user = this.users.get(String(id));
    if (!user) throw new VendorError(404, "UserNotExist", `User ${String(id)} does not exist`);
    return user;
  }

  private byName(name: unknown): SandboxUser | undefined {
    return [...this.users.values()].find((u) => String(u.UserName) === String(name));
  }

  private view(u: SandboxUser): Json {
    const { id, ...rest } = u;
    return { ...rest, UserId: id };
  }
}
