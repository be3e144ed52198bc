/** Tencent Cloud CIAM's simulator: its users, as the CIAM 2022-03-31 API keeps and answers them. */
import { randomUUID } from "node:crypto";
import { lengthOf, requireParams, type ActionModel, type Json, type ParamSpec, type SandboxUser } from "./sandbox";
import { TencentSandbox, type Tc3Secret } from "./tencent-tc3";

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
