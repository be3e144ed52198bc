/** Tencent Cloud Organization / Identity Center's simulator: its zone's users and groups (2021-03-31). */
import { randomUUID } from "node:crypto";
import { requireParams, type ActionModel, type Json, type ParamSpec, type SandboxUser } from "./sandbox";
import { TencentSandbox, type Tc3Secret } from "./tencent-tc3";

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
  UpdateGroup: {
    params: { ZoneId: "string", GroupId: "string", NewGroupName: "string", NewDescription: "string" },
    required: ["ZoneId", "GroupId"],
    errors: ["FailedOperation.ZoneIdNotExist", "InvalidParameter.GroupNotExist", "InvalidParameter.GroupNameAlreadyExists"],
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
    UpdateGroup: (p) => {
      this.checkZone(p);
      const group = this.groupOf(p.GroupId);
      if (p.NewGroupName !== undefined && [...this.groups.values()].some((g) => g.name === p.NewGroupName && g.id !== group.id))
        throw this.invalid("InvalidParameter.GroupNameAlreadyExists", "The group name already exists.");
      if (p.NewGroupName !== undefined) group.name = String(p.NewGroupName);
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
