/** Alibaba Cloud CCC 2017-07-05 simulator (seed 000): RPC V2 and V3 verification, nonces, required parameters. */
import { ownEntry } from "../lib/own-entry";
import { randomUUID } from "node:crypto";
import { createHash } from "node:crypto";
import { aliyunAcs3Authorization, aliyunRpcSignature } from "./sdk-signatures";
import {
  checkModel,
  header,
  paramModel,
  requireParams,
  VendorError,
  VendorSandbox,
  type ActionModel,
  type Json,
  type ParamModel,
  type SandboxRequest,
  type SandboxResponse,
  type SandboxUser,
} from "./sandbox";

export interface AliyunSecret {
  accessKeyId: string;
  accessKeySecret: string;
}

const SKEW_MS = 15 * 60 * 1000;

/** Rebuilds RoleId.1, RoleId.2 … into lists, as the RPC gateway does. */
function unflatten(flat: Record<string, string>): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(flat)) {
    const m = /^(.+)\.(\d+)$/.exec(key);
    if (m) ((out[m[1]!] ??= []) as string[])[Number(m[2]) - 1] = value;
    else out[key] = value;
  }
  return out;
}

const AGENT_FIELDS: ActionModel["params"] = {
  InstanceId: "string",
  DisplayName: "string",
  Email: "string",
  Phone: "string",
  PrivateOutboundNumberId: "string",
  RoleId: { type: "array", items: "string" },
  SkillGroupId: { type: "array", items: "string" },
  SkillLevel: { type: "array", items: "integer" },
};

/**
 * CCC 2017-07-05 request models: the Tea models of alibabacloud-typescript-sdk ccc-20170705 (names() and
 * types()). The Tea model marks nothing required: which parameters are comes from the API reference (seed 000
 * for CreateUser), and the codes from CCC's families: Missing<Name>, NotExists.<Name>, AlreadyExists.<Name>.
 * test/vendor-models.test.ts checks this table against the models.
 */
export const CCC_MODELS: Record<string, ActionModel> = {
  CreateUser: {
    params: { ...AGENT_FIELDS, LoginName: { type: "string", minLength: 1, maxLength: 64 } },
    required: ["InstanceId", "LoginName", "DisplayName", "Email", "RoleId"],
    errors: ["NotExists.InstanceId", "NotExists.RoleId", "NotExists.SkillGroupId", "AlreadyExists.LoginName"],
  },
  ModifyUser: {
    params: { ...AGENT_FIELDS, UserId: "string" },
    required: ["InstanceId", "UserId", "DisplayName", "Email", "RoleId"],
    errors: ["NotExists.InstanceId", "NotExists.UserId", "NotExists.SkillGroupId"],
  },
  RemoveUsers: {
    params: { InstanceId: "string", UserId: { type: "array", items: "string" } },
    required: ["InstanceId", "UserId"],
    errors: ["NotExists.InstanceId", "NotExists.UserId"],
  },
  FindUsers: {
    params: { InstanceId: "string", Criteria: "string", PageNumber: "integer", PageSize: "integer" },
    required: ["InstanceId"],
    errors: ["NotExists.InstanceId"],
  },
  ListUsers: { params: { InstanceId: "string", PageNumber: "integer", PageSize: "integer" }, required: ["InstanceId"], errors: ["NotExists.InstanceId"] },
};

/** RAM 2015-05-01's rule for a user name (the SDK model's CreateUserRequest.UserName). */
const RAM_USER_NAME: ParamModel = { type: "string", minLength: 1, maxLength: 64 };

/**
 * RAM 2015-05-01 request models: the Tea models of @alicloud/ram20150501 (UpdateLoginProfileRequest,
 * DeleteLoginProfileRequest). Passwords are at most 32 characters: the longest SetPasswordPolicy's
 * MinimumPasswordLength can ask for (8 to 32).
 */
export const RAM_MODELS: Record<string, ActionModel> = {
  UpdateLoginProfile: {
    params: { UserName: RAM_USER_NAME, Password: { type: "string", maxLength: 32 }, PasswordResetRequired: "boolean", MFABindRequired: "boolean" },
    required: ["UserName"],
    errors: ["EntityNotExist.User", "InvalidParameter.UserName.InvalidChars", "InvalidParameter.Password"],
  },
  DeleteLoginProfile: {
    params: { UserName: RAM_USER_NAME },
    required: ["UserName"],
    errors: ["EntityNotExist.User.LoginProfile", "InvalidParameter.UserName.InvalidChars"],
  },
};

/**
 * An RPC request's text values as its model types them: the gateway reads "3" as an integer and "true" as a
 * boolean; text that is neither stays text, and the model check refuses it. Parameters the model does not
 * have are left out of the check (the RPC gateway ignores them).
 */
function typedForModel(params: Json, model: ActionModel): Json {
  const read = (spec: ParamModel, value: unknown): unknown => {
    if (Array.isArray(value)) return spec.items ? value.map((v) => read(paramModel(spec.items!), v)) : value;
    if (spec.type === "integer" && /^-?\d+$/.test(String(value))) return Number(value);
    if (spec.type === "boolean" && (value === "true" || value === "false")) return value === "true";
    return value;
  };
  return Object.fromEntries(
    Object.entries(params).flatMap(([name, value]) => {
      const spec = ownEntry(model.params, name);
      return spec ? [[name, read(paramModel(spec), value)]] : [];
    }),
  );
}

/** A parameter the gateway wants and did not get: POP's Missing<Name>. */
function missing(name: string): VendorError {
  return new VendorError(400, `Missing${name}`, `${name} is mandatory for this action.`);
}

/** RAM (2015-05-01) is another product on another host: its calls reach only the sandbox's "ram" endpoint. */
export const RAM_HOST = "ram.aliyuncs.com";

export class AliyunCccSandbox extends VendorSandbox {
  readonly host: string;
  private readonly nonces = new Set<string>();
  protected override readonly otherHosts = ["ram"];

  /** CCC's host and RAM's, each to its own port. */
  override connectTo(): Record<string, string> {
    return { [this.host]: this.urls.main!, [RAM_HOST]: this.urls.ram! };
  }

  constructor(
    private readonly secret: AliyunSecret,
    readonly instanceId = "inst-sandbox",
    readonly roles = ["role-agent"],
    host = "ccc.cn-shanghai.aliyuncs.com",
  ) {
    super();
    this.host = host;
  }

  private readonly actions: Record<string, (p: Json) => Json> = {
    CreateUser: (p) => {
      this.checkInstance(p);
      requireParams(p, ["LoginName", "DisplayName", "Email", "RoleId"], missing);
      for (const role of p.RoleId as string[])
        if (!this.roles.includes(role)) throw new VendorError(404, "NotExists.RoleId", `The role ${role} does not exist in the instance.`);
      // A CCC agent is a RAM user: LoginName keeps RAM's user name characters.
      if (!/^[A-Za-z0-9._-]+$/.test(String(p.LoginName))) throw new VendorError(400, "InvalidParameter", "LoginName is 1-64 letters, digits, '.', '_' or '-'.");
      this.checkSkills(p);
      if (this.byLogin(p.LoginName)) throw new VendorError(409, "AlreadyExists.LoginName", `The user ${String(p.LoginName)} already exists in the instance.`);
      const user: SandboxUser = { id: randomUUID(), ...p };
      this.users.set(user.id, user);
      return { UserId: user.id };
    },
    ModifyUser: (p) => {
      this.checkInstance(p);
      const user = this.userOf(p.UserId);
      requireParams(p, ["DisplayName", "Email", "RoleId"], missing);
      this.checkSkills(p);
      // ModifyUser replaces the agent's skill groups: absent lists mean none.
      delete user.SkillGroupId;
      delete user.SkillLevel;
      const { InstanceId, UserId, ...fields } = p;
      void InstanceId;
      void UserId;
      Object.assign(user, fields);
      return {};
    },
    RemoveUsers: (p) => {
      this.checkInstance(p);
      requireParams(p, ["UserId"], missing);
      const ids = p.UserId as string[];
      for (const id of ids) this.userOf(id);
      for (const id of ids) this.users.delete(id);
      return {};
    },
    FindUsers: (p) => {
      this.checkInstance(p);
      const criteria = String(p.Criteria ?? "").toLowerCase();
      const all = [...this.users.values()].filter(
        (u) => !criteria || [u.LoginName, u.DisplayName, u.Email].some((v) => String(v).toLowerCase().includes(criteria)),
      );
      return this.page(all, p);
    },
    ListUsers: (p) => {
      this.checkInstance(p);
      return this.page([...this.users.values()], p);
    },
  };

  /** RAM login profiles of the CCC users' RAM accounts, by RAM user name (= LoginName). */
  readonly loginProfiles = new Map<string, { passwordResetRequired: boolean }>();

  private readonly ram: Record<string, (p: Json) => Json> = {
    // UpdateLoginProfileResponseBody holds the RequestId alone.
    UpdateLoginProfile: (p) => {
      this.checkRamUserName(p.UserName);
      if (!this.byLogin(p.UserName)) throw new VendorError(404, "EntityNotExist.User", `The user ${String(p.UserName)} does not exist.`);
      if (p.Password !== undefined && String(p.Password).length < 8)
        throw new VendorError(400, "InvalidParameter.Password", "The password does not meet the password policy.");
      this.loginProfiles.set(String(p.UserName), { passwordResetRequired: p.PasswordResetRequired === "true" });
      return {};
    },
    DeleteLoginProfile: (p) => {
      this.checkRamUserName(p.UserName);
      if (!this.loginProfiles.delete(String(p.UserName)))
        throw new VendorError(404, "EntityNotExist.User.LoginProfile", `The login profile of ${String(p.UserName)} does not exist.`);
      return {};
    },
  };

  /** RAM's user name characters: letters, digits, '.', '-' and '_' (the SDK model's CreateUserRequest.UserName). */
  private checkRamUserName(name: unknown): void {
    if (!/^[A-Za-z0-9._-]+$/.test(String(name)))
      throw new VendorError(400, "InvalidParameter.UserName.InvalidChars", "The user name may hold letters, digits, '.', '-' and '_' only.");
  }

  /** SkillLevel.N pairs with SkillGroupId.N, and every skill group must exist. */
  private checkSkills(p: Json): void {
    const skillGroups = (p.SkillGroupId as string[] | undefined) ?? [];
    if (skillGroups.length !== ((p.SkillLevel as string[] | undefined) ?? []).length)
      throw new VendorError(400, "InvalidParameter", "SkillLevel.N pairs with SkillGroupId.N: the lists must be the same length.");
    this.knownGroups(skillGroups, (id) => new VendorError(404, "NotExists.SkillGroupId", `The skill group ${id} does not exist in the instance.`));
  }

  private userOf(id: unknown): SandboxUser {
    const user = this.users.get(String(id));
    if (!user) throw new VendorError(404, "NotExists.UserId", `The user ${String(id)} does not exist in the instance.`);
    return user;
  }

  private page(all: SandboxUser[], p: Json): Json {
    const size = Number(p.PageSize ?? 10);
    const number = Number(p.PageNumber ?? 1);
    return {
      Users: {
        TotalCount: all.length,
        PageNumber: number,
        PageSize: size,
        // Alibaba's RPC JSON wraps each repeated element in an object named after it (the SDK model's
        // `List: { User: [...] }`, `Roles: { Role: [...] }`); the bare-array `List[]` is only the XML view.
        List: {
          User: all.slice((number - 1) * size, number * size).map((u) => ({
            UserId: u.id,
            RamId: `ram-${u.id.slice(0, 8)}`,
            InstanceId: this.instanceId,
            Primary: false,
            Detail: { LoginName: u.LoginName, DisplayName: u.DisplayName, Phone: u.Phone, Email: u.Email },
            Roles: { Role: (u.RoleId as string[]).map((r) => ({ RoleId: r })) },
            SkillLevels: {
              SkillLevel: ((u.SkillGroupId as string[] | undefined) ?? []).map((id, i) => ({
                Skill: { SkillGroupId: id },
                Level: Number((u.SkillLevel as string[])[i]),
              })),
            },
          })),
        },
      },
    };
  }

  private checkInstance(p: Json): void {
    requireParams(p, ["InstanceId"], missing);
    if (p.InstanceId !== this.instanceId) throw new VendorError(404, "NotExists.InstanceId", `The specified instance ${String(p.InstanceId)} does not exist.`);
  }

  private byLogin(name: unknown): SandboxUser | undefined {
    return [...this.users.values()].find((u) => String(u.LoginName).toLowerCase() === String(name).toLowerCase());
  }

  protected dispatch(req: SandboxRequest) {
    const flat = header(req.headers, "authorization").startsWith("ACS3-") ? this.verifyV3(req) : this.verifyV2(req);
    const action = flat.Action ?? header(req.headers, "x-acs-action");
    const version = flat.Version ?? header(req.headers, "x-acs-version");
    // Each host serves its own product and version: a RAM call that reaches the CCC host is refused, as the
    // CCC gateway refuses a version it does not serve. RAM shares the credentials and the signature.
    const ram = req.endpoint === "ram";
    const table = !ram && version === "2017-07-05" ? this.actions : ram && version === "2015-05-01" ? this.ram : undefined;
    if (!table) throw new VendorError(400, "InvalidVersion", "Specified parameter Version is not valid.");
    const handler = ownEntry(table, action);
    if (!handler) throw new VendorError(404, "InvalidAction.NotFound", `Specified api ${action} is not found.`);
    const business = { ...flat };
    for (const common of [
      "Action",
      "Version",
      "Format",
      "AccessKeyId",
      "SignatureMethod",
      "SignatureVersion",
      "SignatureNonce",
      "Timestamp",
      "Signature",
      "SecurityToken",
    ])
      delete business[common];
    const params = unflatten(business);
    const model = ownEntry(ram ? RAM_MODELS : CCC_MODELS, action);
    if (model)
      checkModel(model, typedForModel(params, model), (problem, name, expected) =>
        problem === "missing"
          ? missing(name)
          : new VendorError(400, ram ? `InvalidParameter.${name}` : "InvalidParameter", `Specified parameter ${name} is not valid: ${expected ?? "unknown"}.`),
      );
    return { action, params, run: () => handler(params) };
  }

  private freshNonce(nonce: string, timestamp: string): void {
    if (!nonce) throw new VendorError(400, "MissingParameter", 'The input parameter "SignatureNonce" is not supplied.');
    if (this.nonces.has(nonce)) throw new VendorError(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    this.nonces.add(nonce);
    const at = Date.parse(timestamp);
    if (Number.isNaN(at) || Math.abs(Date.now() - at) > SKEW_MS)
      throw new VendorError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.");
  }

  private verifyV2(req: SandboxRequest): Record<string, string> {
    const source = req.method === "GET" ? req.query : new URLSearchParams(req.body);
    const params = Object.fromEntries(source.entries());
    const signature = params.Signature;
    delete params.Signature;
    if (params.AccessKeyId !== this.secret.accessKeyId) throw new VendorError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    if (params.SignatureMethod !== "HMAC-SHA1" || params.SignatureVersion !== "1.0")
      throw new VendorError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.");
    this.freshNonce(params.SignatureNonce ?? "", params.Timestamp ?? "");
    if (aliyunRpcSignature(params, req.method, this.secret.accessKeySecret) !== signature)
      throw new VendorError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
    return params;
  }

  private verifyV3(req: SandboxRequest): Record<string, string> {
    const auth = header(req.headers, "authorization");
    const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new VendorError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.");
    if (m[1] !== this.secret.accessKeyId) throw new VendorError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    const headers: Record<string, string> = {};
    for (const name of m[2]!.split(";")) headers[name] = header(req.headers, name);
    if (headers["x-acs-content-sha256"] !== createHash("sha256").update(req.body).digest("hex"))
      throw new VendorError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body.");
    this.freshNonce(headers["x-acs-signature-nonce"] ?? "", headers["x-acs-date"] ?? "");
    const expected = aliyunAcs3Authorization({
      method: req.method,
      query: Object.fromEntries(req.query.entries()),
      headers,
      body: req.body,
      accessKeyId: this.secret.accessKeyId,
      secret: this.secret.accessKeySecret,
    });
    if (expected !== auth) throw new VendorError(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
    return Object.fromEntries(req.query.entries());
  }

  /** Alibaba's generic POP throttling code (shared/vendors.md §1.5, "Rate limit"), as the gateway answers it: HTTP 400. */
  protected override throttlingError(): VendorError {
    return new VendorError(400, "Throttling.User", "Request was denied due to user flow control.");
  }

  /** §1.5: "`ServiceUnavailable` is 503". */
  protected override outageError(): VendorError {
    return new VendorError(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.");
  }

  /** CCC's answers carry Success, Code and HttpStatusCode; RAM's carry the RequestId and the model's fields alone. */
  protected success(action: string, result: Json): SandboxResponse {
    const requestId = this.requestId().toUpperCase();
    if (action in this.ram) return { status: 200, body: { RequestId: requestId, ...result } };
    return { status: 200, body: { RequestId: requestId, Success: true, Code: "OK", Message: "", HttpStatusCode: 200, ...result } };
  }

  protected failure(_action: string, error: VendorError): SandboxResponse {
    return {
      status: error.status,
      body: {
        RequestId: this.requestId().toUpperCase(),
        HostId: this.host,
        Code: error.code,
        Message: error.message,
        Success: false,
        HttpStatusCode: error.status,
      },
    };
  }
}
