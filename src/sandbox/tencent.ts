/** Tencent Cloud API 3.0 simulators: TC3 verification shared by CIAM and Organization/CIC. */
import { randomUUID } from "node:crypto";
import { tencentAuthorization } from "./sdk-signatures";
import {
  checkModel,
  header,
  lengthOf,
  requireParams,
  VendorError,
  VendorSandbox,
  type ActionModel,
  type Json,
  type ParamSpec,
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
    const handler = this.actions[action];
    if (!handler) throw new VendorError(200, "InvalidAction", `The action ${action} is not supported`);
    let params: Json;
    try {
      params = JSON.parse(req.body || "{}") as Json;
    } catch {
      throw new VendorError(200, "InvalidParameter", "The body is not JSON");
    }
    const model = this.models[action];
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
      const errors = this.models[action]?.errors;
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

/** Tencent Cloud CIAM 2022-03-31 (seed 001). */
const CIAM_USER_FIELDS: Record<string, ParamSpec> = {
  UserName: "string",
  PhoneNumber: "string",
  Email: "string",
  Nickname: "string",
  Address: "string",
  UserGroup: { type: "array", items: "string" },
  Birthdate: "integer",
  CustomizationAttributes: {
    type: "array",
    items: { type: "object", fields: { Name: "string", Value: "string", Type: "string" }, required: ["Name", "Value"] },
  },
  IndexedAttribute1: "string",
  IndexedAttribute2: "string",
  IndexedAttribute3: "string",
  IndexedAttribute4: "string",
  IndexedAttribute5: "string",
  UserOrg: { type: "array", items: "string" },
};

/**
 * CIAM 2022-03-31 request models: tencentcloud-sdk-nodejs ciam/v20220331 `*Request` interfaces, and the
 * codes tencentcloud-sdk-go lists per action (test/vendor-models.test.ts checks this table against both).
 */
export const CIAM_MODELS: Record<string, ActionModel> = {
  CreateUser: {
    params: { UserStoreId: "string", Password: "string", ...CIAM_USER_FIELDS },
    required: ["UserStoreId", "PhoneNumber", "Email", "Password", "UserName"],
    errors: [
      "FailedOperation.InvalidUserStore",
      "FailedOperation.PhoneNumberIsNull",
      "FailedOperation.EmailIsNull",
      "FailedOperation.PasswordIsNull",
      "FailedOperation.UserNameIsNull",
      "FailedOperation.AttributeFormatError",
      "FailedOperation.IndexedAttributeTooLong",
      "FailedOperation.UserGroupNotFound",
      "FailedOperation.UserNameAlreadyExists",
      "FailedOperation.EmailAlreadyExists",
      "FailedOperation.PhoneNumberAlreadyExists",
    ],
  },
  UpdateUser: {
    params: { UserId: "string", UserStoreId: "string", ...CIAM_USER_FIELDS },
    required: ["UserId", "UserStoreId"],
    errors: [
      "FailedOperation.InvalidUserStore",
      "FailedOperation.UserNotFound",
      "FailedOperation.UserNameAlreadyExists",
      "FailedOperation.EmailAlreadyExists",
      "FailedOperation.PhoneNumberAlreadyExists",
      "FailedOperation.AttributeFormatError",
      "FailedOperation.UserGroupNotFound",
    ],
  },
  UpdateUserStatus: {
    params: { UserStoreId: "string", UserId: "string", Status: "string" },
    required: ["UserStoreId", "UserId", "Status"],
    errors: ["FailedOperation.InvalidUserStore", "FailedOperation.UserNotFound", "FailedOperation.InvalidUserStatusEnum", "FailedOperation.UserStatusRequired"],
  },
  DeleteUsers: {
    params: { UserStoreId: "string", UserIds: { type: "array", items: "string" } },
    required: ["UserStoreId", "UserIds"],
    errors: ["FailedOperation.InvalidUserStore"],
  },
  SetPassword: {
    params: { UserStoreId: "string", UserId: "string", Password: "string" },
    required: ["UserStoreId", "UserId", "Password"],
    errors: ["FailedOperation.InvalidUserStore", "FailedOperation.UserNotFound", "FailedOperation.PasswordIsNull"],
  },
  ListUser: {
    params: {
      UserStoreId: "string",
      Pageable: { type: "object", fields: { PageSize: "integer", PageNumber: "integer" }, required: ["PageSize", "PageNumber"] },
      Filters: {
        type: "array",
        items: { type: "object", fields: { Key: "string", Values: { type: "array", items: "string" }, Logic: "boolean" } },
      },
      Original: "boolean",
    },
    required: ["UserStoreId", "Pageable"],
    errors: ["FailedOperation.InvalidUserStore"],
  },
};

export class CiamSandbox extends TencentSandbox {
  protected readonly version = "2022-03-31";
  protected override regionRequired = true;
  protected override readonly models = CIAM_MODELS;

  constructor(
    secret: Tc3Secret,
    readonly userStoreId = "us-sandbox",
  ) {
    super("ciam.tencentcloudapi.com", secret);
  }

  protected readonly actions: Record<string, (params: Json) => Json> = {
    CreateUser: (p) => {
      this.checkStore(p);
      requireParams(p, ["PhoneNumber"], () => this.invalid("FailedOperation.PhoneNumberIsNull", "The phone number cannot be empty."));
      requireParams(p, ["Email"], () => this.invalid("FailedOperation.EmailIsNull", "The email cannot be empty."));
      requireParams(p, ["Password"], () => this.invalid("FailedOperation.PasswordIsNull", "The password cannot be empty."));
      requireParams(p, ["UserName"], () => this.invalid("FailedOperation.UserNameIsNull", "The user name cannot be empty."));
      if (!/^\+\d{1,3}-\d{4,14}$/.test(String(p.PhoneNumber)))
        throw this.invalid("FailedOperation.AttributeFormatError", "PhoneNumber must look like +86-13800138000.");
      for (const n of [1, 2, 3, 4, 5])
        if (lengthOf(p[`IndexedAttribute${n}`]) > 512)
          throw this.invalid("FailedOperation.IndexedAttributeTooLong", "indexedAttribute is at most 512 characters.");
      this.knownGroups(p.UserGroup, () => this.invalid("FailedOperation.UserGroupNotFound", "The user group does not exist."));
      if (this.findBy("UserName", p.UserName)) throw this.invalid("FailedOperation.UserNameAlreadyExists", "The user name already exists.");
      if (this.findBy("Email", p.Email)) throw this.invalid("FailedOperation.EmailAlreadyExists", "The email is bound to another user.");
      if (this.findBy("PhoneNumber", p.PhoneNumber))
        throw this.invalid("FailedOperation.PhoneNumberAlreadyExists", "The phone number is bound to another user.");
      const user: SandboxUser = { id: randomUUID().replace(/-/g, ""), ...p, Status: "NOT_ENABLED" };
      delete user.Password;
      this.users.set(user.id, user);
      return { User: this.view(user) };
    },
    UpdateUser: (p) => {
      this.checkStore(p);
      const user = this.userOf(p.UserId);
      for (const [field, code] of [
        ["UserName", "FailedOperation.UserNameAlreadyExists"],
        ["Email", "FailedOperation.EmailAlreadyExists"],
        ["PhoneNumber", "FailedOperation.PhoneNumberAlreadyExists"],
      ] as const) {
        const other = p[field] === undefined ? undefined : this.findBy(field, p[field]);
        if (other && other.id !== user.id) throw this.invalid(code, `${field} is bound to another user.`);
      }
      if (p.PhoneNumber !== undefined && !/^\+\d{1,3}-\d{4,14}$/.test(String(p.PhoneNumber)))
        throw this.invalid("FailedOperation.AttributeFormatError", "PhoneNumber must look like +86-13800138000.");
      this.knownGroups(p.UserGroup, () => this.invalid("FailedOperation.UserGroupNotFound", "The user group does not exist."));
      const { UserStoreId, UserId, ...fields } = p;
      void UserStoreId;
      void UserId;
      Object.assign(user, fields);
      return {};
    },
    UpdateUserStatus: (p) => {
      this.checkStore(p);
      const user = this.userOf(p.UserId);
      if (!["NORMAL", "LOCK", "FREEZE"].includes(String(p.Status)))
        throw this.invalid("FailedOperation.InvalidUserStatusEnum", "Status is NORMAL, LOCK or FREEZE.");
      user.Status = p.Status;
      return {};
    },
    DeleteUsers: (p) => {
      this.checkStore(p);
      const ids = p.UserIds as string[];
      if (ids.length === 0) throw this.invalid("InvalidParameterValue", "UserIds lists no user.");
      // The SDK lists no "user not found" for DeleteUsers: an id that names no user deletes nothing.
      for (const id of ids) this.users.delete(id);
      return {};
    },
    SetPassword: (p) => {
      this.checkStore(p);
      const user = this.userOf(p.UserId);
      if (typeof p.Password !== "string" || p.Password.length < 8) throw this.invalid("FailedOperation.PasswordIsNull", "The password cannot be empty.");
      user.PasswordSetAt = Date.now();
      return {};
    },
    ListUser: (p) => {
      this.checkStore(p);
      const filters = (p.Filters as { Key: string; Values: string[] }[] | undefined) ?? [];
      const condition = filters.find((f) => f.Key === "condition")?.Values ?? [];
      const all = [...this.users.values()].filter(
        (u) => condition.length === 0 || condition.some((c) => [u.UserName, u.Email, u.PhoneNumber].some((v) => String(v).includes(c))),
      );
      const page = (p.Pageable as { PageSize?: number; PageNumber?: number } | undefined) ?? {};
      const size = page.PageSize ?? 20;
      const start = ((page.PageNumber ?? 1) - 1) * size;
      // The SDK model's ListUserRequest.Original: "true: unmasked values; false (the default): masked".
      const original = p.Original === true;
      return {
        Content: all.slice(start, start + size).map((u) => (original ? this.view(u) : masked(this.view(u)))),
        Total: all.length,
        Pageable: { PageSize: size, PageNumber: page.PageNumber ?? 1 },
      };
    },
  };

  private checkStore(p: Json): void {
    if (p.UserStoreId !== this.userStoreId) throw this.invalid("FailedOperation.InvalidUserStore", "The user store does not exist.");
  }

  private userOf(id: unknown): SandboxUser {
    const user = this.users.get(String(id));
    if (!user) throw this.invalid("FailedOperation.UserNotFound", "The user does not exist.");
    return user;
  }

  private view(u: SandboxUser): Json {
    const { id, ...rest } = u;
    return { ...rest, UserId: id, UserStoreId: this.userStoreId };
  }
}

/** How CIAM shows personal values unless `Original` is true: "a***@example.com", "+86-138****8000". */
function masked(user: Json): Json {
  const out = { ...user };
  if (typeof out.Email === "string") out.Email = out.Email.replace(/^(.)[^@]*/, "$1***");
  if (typeof out.PhoneNumber === "string") out.PhoneNumber = out.PhoneNumber.replace(/^(.*-\d{3})\d{4}/, "$1****");
  return out;
}

/** Tencent Cloud Organization / Identity Center 2021-03-31 (seed 004). */
const CIC_USER_LIMITS = { FirstName: 64, LastName: 64, DisplayName: 256, Description: 1024, Email: 128 };
const CIC_PAGING: Record<string, ParamSpec> = {
  NextToken: "string",
  MaxResults: { type: "integer", minimum: 1, maximum: 100 },
  Filter: "string",
  SortField: "string",
  SortType: "string",
  Offset: "integer",
};

/**
 * Organization / CIC 2021-03-31 request models: tencentcloud-sdk-nodejs organization/v20210331 `*Request`
 * interfaces (limits from their descriptions), and the codes tencentcloud-sdk-go lists per action
 * (test/vendor-models.test.ts checks this table against both).
 */
export const CIC_MODELS: Record<string, ActionModel> = {
  CreateUser: {
    params: {
      ZoneId: "string",
      UserName: { type: "string", maxLength: 64 },
      ...Object.fromEntries(Object.entries(CIC_USER_LIMITS).map(([name, max]) => [name, { type: "string", maxLength: max }])),
      UserStatus: "string",
      UserType: "string",
      NeedResetPassword: "boolean",
    },
    required: ["ZoneId", "UserName"],
    errors: [
      "FailedOperation.ZoneIdNotExist",
      "InvalidParameter.UsernameFormatError",
      "InvalidParameter.UsernameAlreadyExists",
      "InvalidParameter.EmailAlreadyExists",
    ],
  },
  UpdateUser: {
    params: {
      ZoneId: "string",
      UserId: "string",
      ...Object.fromEntries(Object.entries(CIC_USER_LIMITS).map(([name, max]) => [`New${name}`, { type: "string", maxLength: max }])),
      NeedResetPassword: "boolean",
    },
    required: ["ZoneId", "UserId"],
    errors: [
      "FailedOperation.ZoneIdNotExist",
      "ResourceNotFound.UserNotExist",
      "FailedOperation.SynchronizedUserNotUpdate",
      "InvalidParameter.EmailAlreadyExists",
    ],
  },
  UpdateUserStatus: {
    params: { ZoneId: "string", UserId: "string", NewUserStatus: "string" },
    required: ["ZoneId", "UserId", "NewUserStatus"],
    errors: ["FailedOperation.ZoneIdNotExist", "ResourceNotFound.UserNotExist"],
  },
  DeleteUser: {
    params: { ZoneId: "string", UserId: "string" },
    required: ["ZoneId", "UserId"],
    errors: [
      "FailedOperation.ZoneIdNotExist",
      "ResourceNotFound.UserNotExist",
      "FailedOperation.SynchronizedUserNotDelete",
      "InvalidParameter.UserAlreadyExistsGroup",
      "FailedOperation.RoleConfigurationAuthorizationExist",
      "FailedOperation.UserProvisioningExists",
    ],
  },
  ListUsers: {
    params: { ZoneId: "string", UserStatus: "string", UserType: "string", FilterGroups: { type: "array", items: "string" }, ...CIC_PAGING },
    required: ["ZoneId"],
    errors: ["FailedOperation.ZoneIdNotExist", "InvalidParameter.NextTokenInvalid"],
  },
  CreateGroup: {
    params: { ZoneId: "string", GroupName: { type: "string", maxLength: 128 }, Description: { type: "string", maxLength: 1024 }, GroupType: "string" },
    required: ["ZoneId", "GroupName"],
    errors: ["FailedOperation.ZoneIdNotExist", "InvalidParameter.GroupNameFormatError", "InvalidParameter.GroupNameAlreadyExists"],
  },
  DeleteGroup: {
    params: { ZoneId: "string", GroupId: "string" },
    required: ["ZoneId", "GroupId"],
    errors: ["FailedOperation.ZoneIdNotExist", "InvalidParameter.GroupNotExist", "FailedOperation.DeleteGroupNotAllowExistUser"],
  },
  ListGroups: {
    params: { ZoneId: "string", GroupType: "string", FilterUsers: { type: "array", items: "string" }, ...CIC_PAGING },
    required: ["ZoneId"],
    errors: ["FailedOperation.ZoneIdNotExist", "InvalidParameter.NextTokenInvalid"],
  },
  AddUserToGroup: {
    params: { ZoneId: "string", GroupId: "string", UserId: "string" },
    required: ["ZoneId", "GroupId", "UserId"],
    errors: ["FailedOperation.ZoneIdNotExist", "InvalidParameter.GroupNotExist", "ResourceNotFound.UserNotExist", "InvalidParameter.GroupUserAlreadyExists"],
  },
  RemoveUserFromGroup: {
    params: { ZoneId: "string", GroupId: "string", UserId: "string" },
    required: ["ZoneId", "GroupId", "UserId"],
    errors: ["FailedOperation.ZoneIdNotExist", "InvalidParameter.GroupNotExist", "InvalidParameter.GroupUserNotExist"],
  },
};

export class CicSandbox extends TencentSandbox {
  protected readonly version = "2021-03-31";
  protected override readonly models = CIC_MODELS;

  constructor(
    secret: Tc3Secret,
    readonly zoneId = "z-sandbox",
    host = "organization.tencentcloudapi.com",
  ) {
    super(host, secret);
  }

  protected readonly actions: Record<string, (params: Json) => Json> = {
    CreateUser: (p) => {
      this.checkZone(p);
      requireParams(p, ["UserName"], () => this.invalid("MissingParameter", "The request is missing a required parameter `UserName`."));
      if (!/^[A-Za-z0-9+=,.@_-]{1,64}$/.test(String(p.UserName)))
        throw this.invalid("InvalidParameter.UsernameFormatError", "The username has a format error.");
      if (p.UserStatus !== undefined && !["Enabled", "Disabled"].includes(String(p.UserStatus)))
        throw this.invalid("InvalidParameterValue", "UserStatus is Enabled or Disabled.");
      if (p.UserType !== undefined && !["Manual", "Synchronized"].includes(String(p.UserType)))
        throw this.invalid("InvalidParameterValue", "UserType is Manual or Synchronized.");
      if (this.findBy("UserName", p.UserName)) throw this.invalid("InvalidParameter.UsernameAlreadyExists", "The username already exists.");
      if (p.Email && this.findBy("Email", p.Email)) throw this.invalid("InvalidParameter.EmailAlreadyExists", "The email address already exists.");
      const now = new Date().toISOString().replace("T", " ").slice(0, 19);
      const user: SandboxUser = { id: `u-${randomUUID().slice(0, 8)}`, UserStatus: "Enabled", UserType: "Manual", ...p, CreateTime: now, UpdateTime: now };
      this.users.set(user.id, user);
      return { UserInfo: { ...this.view(user), Password: `Init!${randomUUID().slice(0, 8)}` } };
    },
    UpdateUser: (p) => {
      this.checkZone(p);
      const user = this.userOf(p.UserId);
      if (user.UserType === "Synchronized") throw this.invalid("FailedOperation.SynchronizedUserNotUpdate", "Synchronized users cannot be updated.");
      for (const field of ["NewFirstName", "NewLastName", "NewDisplayName", "NewDescription", "NewEmail"]) {
        if (p[field] === undefined) continue;
        const target = field.slice(3);
        if (target === "Email") {
          const other = this.findBy("Email", p[field]);
          if (other && other.id !== user.id) throw this.invalid("InvalidParameter.EmailAlreadyExists", "The email address already exists.");
        }
        user[target] = p[field];
      }
      return {};
    },
    UpdateUserStatus: (p) => {
      this.checkZone(p);
      const user = this.userOf(p.UserId);
      if (!["Enabled", "Disabled"].includes(String(p.NewUserStatus))) throw this.invalid("InvalidParameterValue", "NewUserStatus is Enabled or Disabled.");
      user.UserStatus = p.NewUserStatus;
      return {};
    },
    // A user still in a group, still assigned a role configuration, or still synchronised to a CAM sub-user
    // is refused (the SDK's DeleteUser errors): those must be undone first.
    DeleteUser: (p) => {
      this.checkZone(p);
      const user = this.userOf(p.UserId);
      if (user.UserType === "Synchronized") throw this.invalid("FailedOperation.SynchronizedUserNotDelete", "Synchronized users cannot be deleted.");
      if ([...this.groups.values()].some((g) => g.members.has(user.id)))
        throw this.invalid("InvalidParameter.UserAlreadyExistsGroup", "The user is in a user group: remove it from its groups first.");
      if (this.roleAssignments.has(user.id))
        throw this.invalid("FailedOperation.RoleConfigurationAuthorizationExist", "The user is authorized with a role configuration.");
      if (this.userProvisionings.has(user.id)) throw this.invalid("FailedOperation.UserProvisioningExists", "The user has a CAM user synchronization.");
      this.users.delete(user.id);
      return {};
    },
    CreateGroup: (p) => {
      this.checkZone(p);
      if (!/^[A-Za-z0-9-]{1,128}$/.test(String(p.GroupName ?? "")))
        throw this.invalid("InvalidParameter.GroupNameFormatError", "GroupName is 1-128 letters, digits or '-'.");
      if ([...this.groups.values()].some((g) => g.name === p.GroupName))
        throw this.invalid("InvalidParameter.GroupNameAlreadyExists", "The group name already exists.");
      const group = this.seedGroup(`g-${randomUUID().slice(0, 8)}`, String(p.GroupName));
      return { GroupInfo: { GroupId: group.id, GroupName: group.name } };
    },
    ListGroups: (p) => {
      this.checkZone(p);
      const filter = typeof p.Filter === "string" ? p.Filter.toLowerCase() : undefined;
      const all = [...this.groups.values()].filter((g) => !filter || g.name.toLowerCase().includes(filter));
      const { page, ...paging } = this.pageOf(all, p);
      return { Groups: page.map((g) => ({ GroupId: g.id, GroupName: g.name, MemberCount: g.members.size })), ...paging };
    },
    DeleteGroup: (p) => {
      this.checkZone(p);
      const group = this.groupOf(p.GroupId);
      if (group.members.size > 0) throw this.invalid("FailedOperation.DeleteGroupNotAllowExistUser", "The group still has users: remove them first.");
      this.groups.delete(group.id);
      return {};
    },
    AddUserToGroup: (p) => {
      this.checkZone(p);
      const group = this.groupOf(p.GroupId);
      const user = this.userOf(p.UserId);
      if (group.members.has(user.id)) throw this.invalid("InvalidParameter.GroupUserAlreadyExists", "The user is already in the group.");
      group.members.add(user.id);
      return {};
    },
    RemoveUserFromGroup: (p) => {
      this.checkZone(p);
      const group = this.groupOf(p.GroupId);
      if (!group.members.delete(String(p.UserId))) throw this.invalid("InvalidParameter.GroupUserNotExist", "The user is not in the group.");
      return {};
    },
    ListUsers: (p) => {
      this.checkZone(p);
      const filter = typeof p.Filter === "string" ? p.Filter.toLowerCase() : undefined;
      const all = [...this.users.values()].filter(
        (u) =>
          !filter ||
          [u.UserName, u.Email, u.id, u.Description].some((v) =>
            String(v ?? "")
              .toLowerCase()
              .includes(filter),
          ),
      );
      const { page, ...paging } = this.pageOf(all, p);
      return { Users: page.map((u) => this.view(u)), ...paging };
    },
  };

  /** Users assigned a role configuration (an account authorization), by user id: DeleteUser refuses them. */
  readonly roleAssignments = new Set<string>();
  /** Users synchronised to CAM sub-users (a user provisioning), by user id: DeleteUser refuses them. */
  readonly userProvisionings = new Set<string>();

  /**
   * One page of ListUsers or ListGroups: MaxResults (1-100, 10 by default) from the NextToken of the page
   * before, or from Offset; the token is opaque to clients.
   */
  private pageOf<T>(all: T[], p: Json): { page: T[]; TotalCounts: number; IsTruncated: boolean; MaxResults: number; NextToken?: string } {
    const max = Number(p.MaxResults ?? 10);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw this.invalid("InvalidParameterValue", "MaxResults is 1 to 100.");
    const from = typeof p.NextToken === "string" && p.NextToken ? this.offsetOfToken(p.NextToken) : Number(p.Offset ?? 0);
    const page = all.slice(from, from + max);
    const truncated = from + max < all.length;
    return {
      page,
      TotalCounts: all.length,
      IsTruncated: truncated,
      MaxResults: max,
      ...(truncated ? { NextToken: Buffer.from(`page:${from + max}`).toString("base64") } : {}),
    };
  }

  private offsetOfToken(token: string): number {
    const match = /^page:(\d+)$/.exec(Buffer.from(token, "base64").toString("utf8"));
    if (!match) throw this.invalid("InvalidParameter.NextTokenInvalid", "NextToken is not one this API issued.");
    return Number(match[1]);
  }

  private userOf(id: unknown): SandboxUser {
    const user = this.users.get(String(id));
    if (!user) throw this.invalid("ResourceNotFound.UserNotExist", "The user does not exist.");
    return user;
  }

  private groupOf(id: unknown) {
    const group = this.groups.get(String(id));
    if (!group) throw this.invalid("InvalidParameter.GroupNotExist", "The group does not exist.");
    return group;
  }

  private checkZone(p: Json): void {
    requireParams(p, ["ZoneId"], () => this.invalid("MissingParameter", "The request is missing a required parameter `ZoneId`."));
    if (p.ZoneId !== this.zoneId) throw this.invalid("FailedOperation.ZoneIdNotExist", "The user zoneId of the CIC service does not exist.");
  }

  private view(u: SandboxUser): Json {
    const { id, ...rest } = u;
    delete rest.ZoneId;
    return { ...rest, UserId: id };
  }
}
