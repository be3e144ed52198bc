/** Volcengine Cloud Identity 2023-01-01 simulator (seed 003): HMAC-SHA256 verification, byte limits, 404 duplicates. */
import { ownEntry } from "../lib/own-entry";
import { createHash, randomUUID } from "node:crypto";
import { volcengineAuthorization } from "./sdk-signatures";
import {
  checkModel,
  header,
  requireParams,
  type ActionModel,
  type ParamSpec,
  VendorError,
  VendorSandbox,
  type Json,
  type SandboxRequest,
  type SandboxResponse,
  type SandboxGroup,
  type SandboxUser,
} from "./sandbox";

/** A page of a list as ListUsers and ListGroups answer it: PageNumber from 1, PageSize 10 unless given. */
function pageOf<T>(all: T[], p: Json): { page: T[]; PageNumber: number; PageSize: number; Total: number } {
  const number = Number(p.PageNumber ?? 1);
  const size = Number(p.PageSize ?? 10);
  if (!(number >= 1) || !(size >= 1)) throw new VendorError(400, "InvalidParam", `The parameter PageNumber/PageSize[${number}/${size}] is invalid`);
  return { page: all.slice((number - 1) * size, number * size), PageNumber: number, PageSize: size, Total: all.length };
}

/** How many of upper case, lower case, digits and other characters a password uses. */
function characterClasses(password: string): number {
  return [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((c) => c.test(password)).length;
}

export interface VolcSecret {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A user's fields as CreateUserInput and UpdateUserInput declare them: UTF-8 byte limits (Go `len`). */
const USER_FIELDS: Record<string, ParamSpec> = {
  UserName: { type: "string", minBytes: 1, maxBytes: 54 },
  DisplayName: { type: "string", maxBytes: 64 },
  Description: { type: "string", maxBytes: 255 },
  Email: { type: "string", maxBytes: 128 },
  Phone: { type: "string", maxBytes: 20 },
};

/**
 * Cloud Identity 2023-01-01 request models: the volcengine-go-sdk service/cloudidentity *Input structs and
 * their validation tags (test/fixtures/vendor-models/volcengine holds them; test/vendor-models.test.ts
 * checks this table against them). A parameter outside them, of the wrong JSON type or beyond its limits
 * is InvalidParam (seed).
 */
export const VOLCENGINE_MODELS: Record<string, ActionModel> = {
  CreateUser: { params: USER_FIELDS, required: ["UserName"] },
  UpdateUser: { params: { UserId: "string", ...USER_FIELDS }, required: ["UserId"] },
  DeleteUser: { params: { UserId: "string" }, required: ["UserId"] },
  ListUsers: {
    params: {
      PageNumber: { type: "integer", minimum: 1 },
      PageSize: { type: "integer", minimum: 1, maximum: 100 },
      QueryString: "string",
      UserName: "string",
      Source: { type: "string", enum: ["Sync", "Manual"] },
    },
    required: [],
  },
  ResetPassword: {
    params: { UserId: "string", Password: { type: "string", minBytes: 8, maxBytes: 32 }, GenerateRandomPassword: "boolean", PasswordResetRequired: "boolean" },
    required: ["UserId", "GenerateRandomPassword", "PasswordResetRequired"],
  },
  CreateGroup: {
    params: {
      GroupName: { type: "string", maxBytes: 63 },
      DisplayName: { type: "string", maxBytes: 64 },
      Description: { type: "string", maxBytes: 128 },
      JoinType: { type: "string", enum: ["Manual", "Auto"] },
    },
    required: ["GroupName", "JoinType"],
  },
  DeleteGroup: { params: { GroupId: "string" }, required: ["GroupId"] },
  UpdateGroup: {
    params: { GroupId: "string", DisplayName: { type: "string", maxBytes: 64 }, Description: { type: "string", maxBytes: 128 } },
    required: ["GroupId"],
  },
  ListGroups: {
    params: { JoinType: { type: "string", enum: ["Manual", "Auto"] }, PageNumber: "integer", PageSize: "integer", QueryString: "string" },
    required: [],
  },
  AddUserToGroup: { params: { GroupId: "string", UserId: "string" }, required: ["GroupId", "UserId"] },
  RemoveUserFromGroup: { params: { GroupId: "string", UserId: "string" }, required: ["GroupId", "UserId"] },
};

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
      if (this.byName(p.UserName)) throw new VendorError(404, "UserNameAlreadyExists", "User name already exists");
      const now = new Date().toISOString();
      const user: SandboxUser = { id: `u-${randomUUID().slice(0, 12)}`, ...p, Source: "Manual", CreatedTime: now, UpdatedTime: now };
      this.users.set(user.id, user);
      return this.view(user);
    },
    UpdateUser: (p) => {
      const user = this.userOf(p.UserId);
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
      if (p.GenerateRandomPassword === true) {
        user.PasswordSetAt = Date.now();
        return { Password: "generated-by-volcengine" };
      }
      // Password's 8-32 bytes are the model's; the character classes are the console's password rule.
      if (p.Password === undefined) throw new VendorError(400, "InvalidParam", "The parameter Password[] is invalid");
      if (characterClasses(String(p.Password)) < 3)
        throw new VendorError(400, "InvalidParam", "The parameter Password is invalid: use three of upper case, lower case, digits and symbols");
      user.PasswordSetAt = Date.now();
      return {};
    },
    CreateGroup: (p) => {
      requireParams(p, ["GroupName"], () => new VendorError(400, "InvalidParam", "The parameter GroupName[] is invalid"));
      if ([...this.groups.values()].some((g) => g.name === p.GroupName)) throw new VendorError(400, "GroupNameAlreadyExists", "Group name already exists");
      const group = this.seedGroup(`g-${randomUUID().slice(0, 10)}`, String(p.GroupName));
      const now = new Date().toISOString();
      group.fields = { DisplayName: p.DisplayName, Description: p.Description, JoinType: p.JoinType, Source: "Manual", CreatedTime: now, UpdatedTime: now };
      return this.groupView(group);
    },
    // QueryString searches names and display names (a substring, any case); the model has no exact-name filter.
    ListGroups: (p) => {
      const query = String(p.QueryString ?? "").toLowerCase();
      const all = [...this.groups.values()].filter(
        (g) =>
          (!query ||
            [g.name, g.fields?.DisplayName].some((v) =>
              String(v ?? "")
                .toLowerCase()
                .includes(query),
            )) &&
          (p.JoinType === undefined || (g.fields?.JoinType ?? "Manual") === p.JoinType),
      );
      const { page, ...paging } = pageOf(all, p);
      return { Groups: page.map((g) => this.groupView(g)), ...paging };
    },
    DeleteGroup: (p) => {
      if (!this.groups.delete(String(p.GroupId))) throw new VendorError(404, "GroupNotExist", "Group does not exist");
      return {};
    },
    // GroupName is fixed at creation; the display name and description change.
    UpdateGroup: (p) => {
      const group = this.groups.get(String(p.GroupId));
      if (!group) throw new VendorError(404, "GroupNotExist", "Group does not exist");
      const changed = Object.fromEntries(["DisplayName", "Description"].filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
      group.fields = { ...group.fields, ...changed, UpdatedTime: new Date().toISOString() };
      return this.groupView(group);
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
      const all = [...this.users.values()].filter((u) => p.UserName === undefined || String(u.UserName) === String(p.UserName));
      const { page, ...paging } = pageOf(all, p);
      return { Users: page.map((u) => this.view(u)), ...paging };
    },
  };

  protected dispatch(req: SandboxRequest) {
    const action = req.query.get("Action") ?? "";
    this.lastAction = action;
    this.verify(req);
    if (req.query.get("Version") !== "2023-01-01") throw new VendorError(400, "InvalidParam", "The parameter Version is invalid");
    const handler = ownEntry(this.actions, action);
    if (!handler) throw new VendorError(404, "InvalidActionOrVersion", `Could not find operation ${action}`);
    const params = JSON.parse(req.body || "{}") as Json;
    const model = ownEntry(VOLCENGINE_MODELS, action);
    if (model)
      checkModel(
        model,
        params,
        (problem, name, expected) =>
          new VendorError(
            400,
            "InvalidParam",
            problem === "missing" || problem === "unknown" ? `The parameter ${name}[] is invalid` : `The parameter ${name} is invalid: expected ${expected}`,
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
    if (!user) throw new VendorError(404, "UserNotFound", `User ${String(id)} not found`);
    return user;
  }

  private byName(name: unknown): SandboxUser | undefined {
    return [...this.users.values()].find((u) => String(u.UserName) === String(name));
  }

  private groupView(g: SandboxGroup): Json {
    return { GroupId: g.id, GroupName: g.name, JoinType: "Manual", Source: "Manual", ...g.fields };
  }

  private view(u: SandboxUser): Json {
    const { id, ...rest } = u;
    return { ...rest, UserId: id };
  }
}
