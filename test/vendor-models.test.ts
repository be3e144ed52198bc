/**
 * The sandboxes and the mappings against the vendors' official SDK models, read by program
 * (test/helpers/sdk-models.ts): every parameter, type, requirement, limit and error code of each action a
 * sandbox implements; every parameter each mapping sends; and the behaviours a table cannot show (a refusal
 * that depends on state, paging, the code an unknown user gets). Where a sandbox keeps a rule the SDK model
 * does not state, OWN_RULES names it and the document it comes from.
 */
import { loadMapping } from "../src/mapping/compile";
import type { FieldSpec } from "../src/mapping/schema";
import { classByCode } from "../src/vendors/classify";
import { CCC_MODELS, RAM_MODELS, type AliyunCccSandbox } from "../src/sandbox/aliyun-ccc";
import { HUAWEI_MODELS } from "../src/sandbox/huawei-aicc";
import { paramModel, type ActionModel, type ParamSpec, type VendorSandbox } from "../src/sandbox/sandbox";
import { CIAM_MODELS } from "../src/sandbox/tencent-ciam";
import { CIC_MODELS, type CicSandbox } from "../src/sandbox/tencent-cic";
import { VOLCENGINE_MODELS } from "../src/sandbox/volcengine";
import { FIXTURES, goInput, teaModel, tencentErrors, tencentModels, type SdkAction, type SdkParam } from "./helpers/sdk-models";
import { call, outcomeOf, withSandbox } from "./helpers/vendors";

const TENCENT = "node_modules/tencentcloud-sdk-nodejs/tencentcloud/services";
const snake = (action: string) => action.replace(/[A-Z]/g, (c, i: number) => `${i ? "_" : ""}${c.toLowerCase()}`);

/** One product's SDK model: its request model and listed errors per action. */
type SdkProduct = (action: string) => SdkAction;

function tencentProduct(models: string, client: string): SdkProduct {
  const requests = tencentModels(models);
  const errors = tencentErrors(client);
  return (action) => ({ params: requests(`${action}Request`), errors: errors[action] });
}

const SDK: Record<string, SdkProduct> = {
  "tencent-cic": tencentProduct(`${TENCENT}/organization/v20210331/organization_models.d.ts`, `${FIXTURES}/tencent-cic/client.go`),
  "tencent-ciam": tencentProduct(`${TENCENT}/ciam/v20220331/ciam_models.d.ts`, `${FIXTURES}/tencent-ciam/client.go`),
  "volcengine-cloudidentity": (action) => ({ params: goInput(`${FIXTURES}/volcengine/api_${snake(action)}.go`, action) }),
  "aliyun-ccc": (action) => ({ params: teaModel(`${FIXTURES}/aliyun-ccc/client.ts`, `${action}Request`) }),
  "aliyun-ram": (action) => ({ params: teaModel(`node_modules/@alicloud/ram20150501/dist/models/${action}Request.js`, `${action}Request`) }),
};

const SANDBOX_MODELS: Record<string, Record<string, ActionModel>> = {
  "tencent-cic": CIC_MODELS,
  "tencent-ciam": CIAM_MODELS,
  "volcengine-cloudidentity": VOLCENGINE_MODELS,
  "aliyun-ccc": CCC_MODELS,
  "aliyun-ram": RAM_MODELS,
};

/**
 * Rules a sandbox keeps that its vendor's SDK model does not state, each as the difference the comparison
 * reports, with the document it comes from. Anything else that differs fails.
 */
const OWN_RULES: Record<string, Record<string, string>> = {
  "tencent-cic": {
    // The SDK's UpdateUser descriptions give no lengths; the fields are CreateUser's, whose descriptions and
    // seed 004 cap them. A vendor that caps a field at creation does not accept a longer one on update.
    "UpdateUser NewFirstName maxLength: sandbox 64, SDK none": "seed 004 (FirstName)",
    "UpdateUser NewLastName maxLength: sandbox 64, SDK none": "seed 004 (LastName)",
    "UpdateUser NewDisplayName maxLength: sandbox 256, SDK none": "seed 004 (DisplayName)",
    "UpdateUser NewDescription maxLength: sandbox 1024, SDK none": "seed 004 (Description)",
    "UpdateUser NewEmail maxLength: sandbox 128, SDK none": "seed 004 (Email)",
  },
  "tencent-ciam": {},
  "volcengine-cloudidentity": {},
  "aliyun-ccc": {
    // The Tea model marks nothing required; seed 000's parameter table marks these 是 (required).
    "CreateUser InstanceId required: sandbox yes, SDK no": "seed 000",
    "CreateUser LoginName required: sandbox yes, SDK no": "seed 000",
    "CreateUser DisplayName required: sandbox yes, SDK no": "seed 000",
    "CreateUser Email required: sandbox yes, SDK no": "seed 000",
    "CreateUser RoleId required: sandbox yes, SDK no": "seed 000",
    // A CCC agent is a RAM user: LoginName takes RAM's user name length (shared/vendors.md §1.6).
    "CreateUser LoginName minLength: sandbox 1, SDK none": "RAM CreateUserRequest.UserName: 1 to 64 characters",
    "CreateUser LoginName maxLength: sandbox 64, SDK none": "RAM CreateUserRequest.UserName: 1 to 64 characters",
    // ModifyUser, RemoveUsers, FindUsers, ListUsers API references (shared/vendors.md §1.5): the instance and
    // the user are named on every call; ModifyUser sends the agent's whole profile.
    "ModifyUser InstanceId required: sandbox yes, SDK no": "ModifyUser reference",
    "ModifyUser UserId required: sandbox yes, SDK no": "ModifyUser reference",
    "ModifyUser DisplayName required: sandbox yes, SDK no": "ModifyUser reference",
    "ModifyUser Email required: sandbox yes, SDK no": "ModifyUser reference",
    "ModifyUser RoleId required: sandbox yes, SDK no": "ModifyUser reference",
    "RemoveUsers InstanceId required: sandbox yes, SDK no": "RemoveUsers reference",
    "RemoveUsers UserId required: sandbox yes, SDK no": "RemoveUsers reference",
    "FindUsers InstanceId required: sandbox yes, SDK no": "FindUsers reference",
    "ListUsers InstanceId required: sandbox yes, SDK no": "ListUsers reference",
  },
  "aliyun-ram": {
    // The Tea model marks nothing required; the RAM references require the user's name.
    "UpdateLoginProfile UserName required: sandbox yes, SDK no": "UpdateLoginProfile reference",
    "DeleteLoginProfile UserName required: sandbox yes, SDK no": "DeleteLoginProfile reference",
    // The model's CreateUserRequest.UserName: "1 to 64 characters"; the same user's name on its login profile.
    "UpdateLoginProfile UserName minLength: sandbox 1, SDK none": "RAM CreateUserRequest.UserName",
    "UpdateLoginProfile UserName maxLength: sandbox 64, SDK none": "RAM CreateUserRequest.UserName",
    "DeleteLoginProfile UserName minLength: sandbox 1, SDK none": "RAM CreateUserRequest.UserName",
    "DeleteLoginProfile UserName maxLength: sandbox 64, SDK none": "RAM CreateUserRequest.UserName",
    // The model's SetPasswordPolicyRequest.MinimumPasswordLength: "Valid values: 8 to 32".
    "UpdateLoginProfile Password maxLength: sandbox 32, SDK none": "RAM SetPasswordPolicyRequest.MinimumPasswordLength",
  },
};

const LIMITS = ["minLength", "maxLength", "minBytes", "maxBytes", "minimum", "maximum", "enum"] as const;
const shown = (v: unknown) => (v === undefined ? "none" : Array.isArray(v) ? v.join("|") : String(v));

/** Every way a sandbox's fields differ from the SDK model's, one line each ("Action Param rule: sandbox …, SDK …"). */
function fieldDifferences(where: string, fields: Record<string, ParamSpec>, required: string[], sdk: Record<string, SdkParam>): string[] {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(fields), ...Object.keys(sdk)])) {
    const path = `${where}${name}`;
    if (!sdk[name]) out.push(`${path}: not in the SDK model`);
    else if (!fields[name]) out.push(`${path}: in the SDK model, refused by the sandbox`);
    else out.push(...paramDifferences(path, paramModel(fields[name]), required.includes(name), sdk[name]));
  }
  return out;
}

function paramDifferences(path: string, mine: ReturnType<typeof paramModel>, required: boolean, sdk: SdkParam): string[] {
  const out: string[] = [];
  if (mine.type !== sdk.type) return [`${path} type: sandbox ${mine.type}, SDK ${sdk.type}`];
  if (required !== sdk.required) out.push(`${path} required: sandbox ${required ? "yes" : "no"}, SDK ${sdk.required ? "yes" : "no"}`);
  for (const limit of LIMITS)
    if (shown(mine[limit]) !== shown(sdk[limit])) out.push(`${path} ${limit}: sandbox ${shown(mine[limit])}, SDK ${shown(sdk[limit])}`);
  if (sdk.items) out.push(...paramDifferences(`${path}[]`, paramModel(mine.items ?? "string"), false, { ...sdk.items, required: false }));
  if (sdk.fields || mine.fields) out.push(...fieldDifferences(`${path}.`, mine.fields ?? {}, mine.required ?? [], sdk.fields ?? {}));
  return out;
}

function actionDifferences(action: string, model: ActionModel, sdk: SdkAction): string[] {
  const out = fieldDifferences(`${action} `, model.params, model.required, sdk.params);
  if (sdk.errors) for (const code of model.errors ?? []) if (!sdk.errors.includes(code)) out.push(`${action} error ${code}: not listed by the SDK`);
  return out;
}

describe.each(Object.keys(SANDBOX_MODELS))("the %s sandbox's models against the SDK's", (product) => {
  it.each(Object.keys(SANDBOX_MODELS[product]!))("%s: parameters, types, requirements, limits and error codes agree", (action) => {
    const differences = actionDifferences(action, SANDBOX_MODELS[product]![action]!, SDK[product]!(action));
    expect(differences.filter((d) => !(d in OWN_RULES[product]!))).toEqual([]);
  });

  it("every rule the sandbox keeps beyond the SDK model is still one it keeps", () => {
    const all = Object.entries(SANDBOX_MODELS[product]!).flatMap(([action, model]) => actionDifferences(action, model, SDK[product]!(action)));
    expect(Object.keys(OWN_RULES[product]!).filter((rule) => !all.includes(rule))).toEqual([]);
  });
});

it("CCC's action-specific codes are CCC's families: Missing<Name>, NotExists.<Name>, AlreadyExists.<Name>", () => {
  const codes = Object.values(CCC_MODELS).flatMap((m) => m.errors ?? []);
  expect(codes.length).toBeGreaterThan(0);
  expect(codes.filter((c) => !/^(NotExists|AlreadyExists)\.[A-Z]\w+$/.test(c))).toEqual([]);
});

// ---- The mappings ----------------------------------------------------------------------------------------

const MAPPINGS: Record<string, string> = {
  "tencent-cic": "mappings/tencent-cic.yaml",
  "tencent-ciam": "mappings/tencent-ciam.yaml",
  "volcengine-cloudidentity": "mappings/volcengine-cloudidentity.yaml",
  "aliyun-ccc": "mappings/aliyun-ccc.yaml",
  // Huawei's contact-center API has no official SDK model: its mapping is held to the sandbox's table,
  // which follows seed 002.
  "huawei-aicc": "mappings/huawei-aicc.yaml",
};

/** The model an operation's call is checked against: the SDK's, or (Huawei) the seed-based sandbox table. */
function modelOfCall(vendor: string, action: string, apiHost: string | undefined): SdkAction {
  if (vendor === "huawei-aicc") {
    const model = HUAWEI_MODELS[action]!;
    const asSdk = (spec: ParamSpec, required: boolean): SdkParam => {
      const m = paramModel(spec);
      return { ...m, required, items: m.items ? asSdk(m.items, false) : undefined, fields: undefined };
    };
    return { params: Object.fromEntries(Object.entries(model.params).map(([n, spec]) => [n, asSdk(spec, model.required.includes(n))])) };
  }
  return SDK[apiHost === "ram.aliyuncs.com" ? "aliyun-ram" : vendor]!(action);
}

/** The JSON type a mapping field sends. */
function sentType(field: FieldSpec): string {
  if (field.items || field.list || field.groups) return "array";
  if (field.object) return "object";
  if (field.type) return field.type;
  if (typeof field.const === "number") return "integer";
  if (typeof field.const === "boolean") return "boolean";
  return "string";
}

/** Whether the field always has a value when its operation is sent (an `object` is built even when empty). */
const alwaysSent = (field: FieldSpec) =>
  field.required === true ||
  field.const !== undefined ||
  field.default !== undefined ||
  field.object !== undefined ||
  field.key === true ||
  field.groupKey === true ||
  field.generate !== undefined;

function capProblems(path: string, field: FieldSpec, sdk: SdkParam): string[] {
  const out: string[] = [];
  const takesText = field.from !== undefined || field.fallback !== undefined || field.param !== undefined || field.generate !== undefined;
  const truncate = field.transform?.flatMap((t) => (typeof t === "object" && "truncate" in t ? [t.truncate] : [])) ?? [];
  const chars = Math.min(field.maxLength ?? Infinity, ...truncate.map((t) => t.chars ?? Infinity));
  const bytes = Math.min(field.maxBytes ?? Infinity, ...truncate.map((t) => t.bytes ?? Infinity));
  // A byte cap bounds the characters too; a character cap bounds bytes only at four bytes a character.
  if (sdk.maxBytes !== undefined && Math.min(bytes, chars * 4) > sdk.maxBytes)
    out.push(`${path}: caps at ${shown(field.maxBytes ?? field.maxLength)}, the SDK at ${sdk.maxBytes} bytes`);
  if (sdk.maxLength !== undefined && Math.min(chars, bytes) > sdk.maxLength)
    out.push(`${path}: caps at ${shown(field.maxLength ?? field.maxBytes)}, the SDK at ${sdk.maxLength} characters`);
  if (!takesText && out.length > 0) return [];
  return out;
}

function sentProblems(path: string, fields: Record<string, FieldSpec>, sdk: Record<string, SdkParam>): string[] {
  const out: string[] = [];
  for (const [name, field] of Object.entries(fields)) {
    const model = sdk[name];
    if (!model) {
      out.push(`${path}${name}: not a parameter of the SDK model`);
      continue;
    }
    if (sentType(field) !== model.type) out.push(`${path}${name}: sent as ${sentType(field)}, the SDK model has ${model.type}`);
    out.push(...capProblems(`${path}${name}`, field, model));
    if (model.enum && field.const !== undefined && !model.enum.includes(String(field.const)))
      out.push(`${path}${name}: sends ${String(field.const)}, the SDK model allows ${model.enum.join("|")}`);
    const nested = field.object ?? field.items?.fields;
    const inner = model.fields ?? model.items?.fields;
    if (nested && inner) out.push(...sentProblems(`${path}${name}.`, nested, inner));
  }
  for (const [name, model] of Object.entries(sdk))
    if (model.required && !(fields[name] && alwaysSent(fields[name]!))) out.push(`${path}${name}: required by the SDK model, not always sent`);
  return out;
}

describe.each(Object.entries(MAPPINGS))("the %s mapping against the SDK models", (vendor, file) => {
  const mapping = loadMapping(file);
  it.each(Object.keys(mapping.file.operations))("%s sends only the model's parameters, of its types, within its caps, and every required one", (operation) => {
    const op = mapping.operation(operation);
    const model = modelOfCall(vendor, op.call, op.api?.host);
    expect(sentProblems(`${op.call} `, op.params, model.params)).toEqual([]);
  });
});

/** The sandbox table of an operation's call: its model and the error codes it lists (SDK-checked above). */
function sandboxModelOf(vendor: string, action: string, apiHost: string | undefined): ActionModel | undefined {
  if (vendor === "huawei-aicc") return HUAWEI_MODELS[action];
  return SANDBOX_MODELS[apiHost === "ram.aliyuncs.com" ? "aliyun-ram" : vendor]?.[action];
}

/**
 * An error code the mapping does not name is read by its HTTP status alone: CCC answers a wrong InstanceId
 * 404, which would read as "the user is gone" and end a deprovisioning that removed nothing. Every code the
 * vendor lists for an action a mapping calls is therefore named, in an error class or as a held-up deletion.
 */
describe.each(Object.entries(MAPPINGS))("the %s mapping names every error code of the actions it calls", (vendor, file) => {
  const mapping = loadMapping(file);
  const blocked = [...mapping.file.lifecycle.deleteBlocked.memberships, ...mapping.file.lifecycle.deleteBlocked.manual];
  it.each(Object.keys(mapping.file.operations))("%s", (operation) => {
    const op = mapping.operation(operation);
    const codes = sandboxModelOf(vendor, op.call, op.api?.host)?.errors ?? [];
    const unnamed = codes.filter((code) => classByCode(mapping.file.errors, code, "") === undefined && !blocked.includes(code));
    expect(unnamed).toEqual([]);
  });
});

type Vendor = Record<string, unknown>;

/** Calls `action` and answers the vendor's result, failing the test on any refusal. */
async function ok(vendor: Vendor, action: string, params: Record<string, unknown>, api?: { host: string; version: string }) {
  const outcome = await outcomeOf(vendor, call({ call: action, params, ...(api ? { api } : {}) }));
  if (outcome.kind !== "success") throw new Error(`${action} was refused: ${outcome.code} ${outcome.message}`);
  return outcome.result;
}

describe("Tencent CIC (organization 2021-03-31)", () => {
  const zone = { ZoneId: "z-1" };

  async function memberOfAGroup(vendor: Vendor) {
    const { UserInfo } = (await ok(vendor, "CreateUser", { ...zone, UserName: "leaver" })) as { UserInfo: { UserId: string } };
    const { GroupInfo } = (await ok(vendor, "CreateGroup", { ...zone, GroupName: "staff" })) as { GroupInfo: { GroupId: string } };
    await ok(vendor, "AddUserToGroup", { ...zone, GroupId: GroupInfo.GroupId, UserId: UserInfo.UserId });
    return { userId: UserInfo.UserId, groupId: GroupInfo.GroupId };
  }

  it("DeleteUser refuses a user still in a group with InvalidParameter.UserAlreadyExistsGroup, and deletes it once it is in none", () =>
    withSandbox("tencent-cic", async (sandbox, vendor) => {
      const { userId, groupId } = await memberOfAGroup(vendor);
      expect(await outcomeOf(vendor, call({ call: "DeleteUser", params: { ...zone, UserId: userId } }))).toMatchObject({
        kind: "invalid",
        code: "InvalidParameter.UserAlreadyExistsGroup",
      });
      expect(sandbox.users.has(userId)).toBe(true);
      await ok(vendor, "RemoveUserFromGroup", { ...zone, GroupId: groupId, UserId: userId });
      await ok(vendor, "DeleteUser", { ...zone, UserId: userId });
      expect(sandbox.users.has(userId)).toBe(false);
    }));

  it.each([
    ["a role configuration authorization", "roleAssignments", "FailedOperation.RoleConfigurationAuthorizationExist"],
    ["a CAM user synchronization", "userProvisionings", "FailedOperation.UserProvisioningExists"],
  ] as const)("DeleteUser refuses a user with %s", (_what, blocker, code) =>
    withSandbox<CicSandbox>("tencent-cic", async (sandbox, vendor) => {
      const { UserInfo } = (await ok(vendor, "CreateUser", { ...zone, UserName: "assigned" })) as { UserInfo: { UserId: string } };
      sandbox[blocker].add(UserInfo.UserId);
      expect(await outcomeOf(vendor, call({ call: "DeleteUser", params: { ...zone, UserId: UserInfo.UserId } }))).toMatchObject({ code });
      expect(sandbox.users.has(UserInfo.UserId)).toBe(true);
    }),
  );

  it("ListGroups answers MaxResults groups a page and continues from NextToken to the last", () =>
    withSandbox("tencent-cic", async (sandbox, vendor) => {
      for (let i = 0; i < 25; i++) sandbox.seedGroup(`g-${i}`, `team-${i}`);
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = (await ok(vendor, "ListGroups", { ...zone, MaxResults: 10, ...(token ? { NextToken: token } : {}) })) as {
          Groups: { GroupId: string }[];
          NextToken?: string;
          IsTruncated: boolean;
          TotalCounts: number;
        };
        expect(page.Groups.length).toBeLessThanOrEqual(10);
        expect(page.TotalCounts).toBe(25);
        seen.push(...page.Groups.map((g) => g.GroupId));
        token = page.IsTruncated ? page.NextToken : undefined;
        pages++;
      } while (token);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(25);
      expect(await outcomeOf(vendor, call({ call: "ListGroups", params: { ...zone, MaxResults: 101 } }))).toMatchObject({ code: "InvalidParameterValue" });
    }));
});

describe("Volcengine Cloud Identity (2023-01-01)", () => {
  const createGroup = (params: Record<string, unknown>) => call({ call: "CreateGroup", params });

  it("CreateGroup requires JoinType (Manual or Auto) and keeps GroupName to 63 bytes, Description to 128", () =>
    withSandbox("volcengine-cloudidentity", async (sandbox, vendor) => {
      expect(await outcomeOf(vendor, createGroup({ GroupName: "staff" }))).toMatchObject({ kind: "invalid", code: "InvalidParam" });
      expect(await outcomeOf(vendor, createGroup({ GroupName: "staff", JoinType: "Sometimes" }))).toMatchObject({ code: "InvalidParam" });
      expect(await outcomeOf(vendor, createGroup({ GroupName: "g".repeat(64), JoinType: "Manual" }))).toMatchObject({ code: "InvalidParam" });
      expect(await outcomeOf(vendor, createGroup({ GroupName: "long", Description: "d".repeat(129), JoinType: "Manual" }))).toMatchObject({
        code: "InvalidParam",
      });
      expect(sandbox.groups.size).toBe(0);
      const made = await ok(vendor, "CreateGroup", { GroupName: "g".repeat(63), Description: "d".repeat(128), JoinType: "Manual" });
      expect(made).toMatchObject({ GroupName: "g".repeat(63), JoinType: "Manual" });
    }));

  it("ListGroups has no GroupName filter: QueryString searches, and pages run to the last", () =>
    withSandbox("volcengine-cloudidentity", async (sandbox, vendor) => {
      for (let i = 0; i < 120; i++) sandbox.seedGroup(`g-${i}`, `team-${i}`);
      sandbox.seedGroup("g-wanted", "Finance Approvers");
      expect(await outcomeOf(vendor, call({ call: "ListGroups", params: { GroupName: "Finance Approvers" } }))).toMatchObject({
        kind: "invalid",
        code: "InvalidParam",
      });
      const found = (await ok(vendor, "ListGroups", { QueryString: "finance", PageNumber: 1, PageSize: 100 })) as { Groups: { GroupId: string }[] };
      expect(found.Groups.map((g) => g.GroupId)).toEqual(["g-wanted"]);
      const first = (await ok(vendor, "ListGroups", { PageNumber: 1, PageSize: 100 })) as { Groups: unknown[]; Total: number };
      const second = (await ok(vendor, "ListGroups", { PageNumber: 2, PageSize: 100 })) as { Groups: { GroupId: string }[] };
      expect(first).toMatchObject({ Total: 121, PageNumber: 1, PageSize: 100 });
      expect(first.Groups).toHaveLength(100);
      expect(second.Groups).toHaveLength(21);
      expect(second.Groups.map((g) => g.GroupId)).toContain("g-wanted");
    }));

  it.each([
    ["UpdateUser", { UserId: "u-nobody", DisplayName: "x" }],
    ["DeleteUser", { UserId: "u-nobody" }],
    ["ResetPassword", { UserId: "u-nobody", Password: "Abcdef12", GenerateRandomPassword: false, PasswordResetRequired: false }],
  ])("%s of an unknown user answers HTTP 404 UserNotFound", (action, params) =>
    withSandbox("volcengine-cloudidentity", async (_sandbox: VendorSandbox, vendor) => {
      expect(await outcomeOf(vendor, call({ call: action, params }))).toMatchObject({ kind: "notFound", code: "UserNotFound", status: 404 });
    }),
  );
});

describe("Volcengine ResetPassword", () => {
  const reset = (Password: string) =>
    call({ call: "ResetPassword", params: { UserId: "u-1", Password, GenerateRandomPassword: false, PasswordResetRequired: false } });

  it.each([
    ["one character class", "abcdefghij"],
    ["two character classes", "abcdefgh12"],
    ["more than 32 bytes", `Aa1${"x".repeat(30)}`],
    ["fewer than 8 bytes", "Aa1!"],
  ])("refuses a password with %s, and takes one of three classes in 8 to 32 bytes", (_what, password) =>
    withSandbox("volcengine-cloudidentity", async (sandbox, vendor) => {
      sandbox.seedUser({ id: "u-1", UserName: "kay" });
      expect(await outcomeOf(vendor, reset(password))).toMatchObject({ kind: "invalid", code: "InvalidParam" });
      expect(sandbox.users.get("u-1")!.PasswordSetAt).toBeUndefined();
      expect(await outcomeOf(vendor, reset(`Aa1${"x".repeat(29)}`))).toMatchObject({ kind: "success" });
    }),
  );
});

describe("Alibaba RAM (2015-05-01), the CCC agents' logins", () => {
  const ram = { host: "ram.aliyuncs.com", version: "2015-05-01" };
  const update = (params: Record<string, unknown>) => call({ call: "UpdateLoginProfile", api: ram, params });

  it.each([
    ["a user name with characters RAM names lack", { UserName: "kay sparck!" }, "InvalidParameter.UserName.InvalidChars"],
    ["a user name longer than 64 characters", { UserName: "k".repeat(65) }, "InvalidParameter.UserName"],
    ["a password longer than 32 characters", { UserName: "kay", Password: `Aa1!${"x".repeat(29)}` }, "InvalidParameter.Password"],
    ["a flag that is not a boolean", { UserName: "kay", PasswordResetRequired: "yes" }, "InvalidParameter.PasswordResetRequired"],
    ["no user name", { Password: "Aa1!aaaaaa" }, "MissingUserName"],
  ])("UpdateLoginProfile refuses %s", (_what, params, code) =>
    withSandbox("aliyun-ccc", async (sandbox, vendor) => {
      sandbox.seedUser({ id: "agent-1", LoginName: "kay", RoleId: ["role-agent"] });
      expect(await outcomeOf(vendor, update(params))).toMatchObject({ kind: "invalid", code });
    }),
  );

  it("UpdateLoginProfile answers what its SDK response model holds, and nothing else", () =>
    withSandbox<AliyunCccSandbox>("aliyun-ccc", async (sandbox, vendor) => {
      sandbox.seedUser({ id: "agent-1", LoginName: "kay", RoleId: ["role-agent"] });
      const answer = await ok(vendor, "UpdateLoginProfile", { UserName: "kay", Password: "Aa1!aaaaaa", PasswordResetRequired: false }, ram);
      const model = teaModel("node_modules/@alicloud/ram20150501/dist/models/UpdateLoginProfileResponseBody.js", "UpdateLoginProfileResponseBody");
      expect(Object.keys(answer).filter((key) => !(key in model))).toEqual([]);
      expect(sandbox.loginProfiles.get("kay")).toEqual({ passwordResetRequired: false });
    }));
});

describe("Alibaba CCC (2017-07-05) answers its own families of codes", () => {
  const agent = { InstanceId: "inst-1", LoginName: "kay", DisplayName: "Kay", Email: "kay@example.com", RoleId: ["role-agent"] };

  it("Missing<Name> for a required parameter left out, AlreadyExists.LoginName for a taken login, NotExists.* for what is not there", () =>
    withSandbox("aliyun-ccc", async (_sandbox, vendor) => {
      const { Email, ...noEmail } = agent;
      void Email;
      expect(await outcomeOf(vendor, call({ call: "CreateUser", params: noEmail }))).toMatchObject({ kind: "invalid", code: "MissingEmail", status: 400 });
      await ok(vendor, "CreateUser", agent);
      expect(await outcomeOf(vendor, call({ call: "CreateUser", params: agent }))).toMatchObject({ code: "AlreadyExists.LoginName", status: 409 });
      expect(await outcomeOf(vendor, call({ call: "RemoveUsers", params: { InstanceId: "inst-1", UserId: ["nobody"] } }))).toMatchObject({
        code: "NotExists.UserId",
        status: 404,
      });
      expect(await outcomeOf(vendor, call({ call: "ListUsers", params: { InstanceId: "inst-2", PageNumber: 1, PageSize: 1 } }))).toMatchObject({
        code: "NotExists.InstanceId",
        status: 404,
      });
      expect(await outcomeOf(vendor, call({ call: "ListUsers", params: { InstanceId: "inst-1", PageNumber: "first", PageSize: 1 } }))).toMatchObject({
        code: "InvalidParameter",
      });
    }));
});

describe("Tencent CIAM (2022-03-31)", () => {
  const store = { UserStoreId: "us-1" };

  it.each([
    ["a page size sent as text", { ...store, Pageable: { PageSize: "10", PageNumber: 1 } }, "InvalidParameter"],
    ["a page without its number", { ...store, Pageable: { PageSize: 10 } }, "MissingParameter"],
    [
      "a filter's values that are not a list",
      { ...store, Pageable: { PageSize: 10, PageNumber: 1 }, Filters: [{ Key: "condition", Values: "kay" }] },
      "InvalidParameter",
    ],
    [
      "a filter field the model lacks",
      { ...store, Pageable: { PageSize: 10, PageNumber: 1 }, Filters: [{ Key: "condition", Value: ["kay"] }] },
      "UnknownParameter",
    ],
  ])("ListUser refuses %s inside Pageable or Filters", (_what, params, code) =>
    withSandbox("tencent-ciam", async (_sandbox, vendor) => {
      expect(await outcomeOf(vendor, call({ call: "ListUser", params }))).toMatchObject({ kind: "invalid", code });
    }),
  );

  it("CreateUser requires the SDK's five fields", () =>
    withSandbox("tencent-ciam", async (sandbox, vendor) => {
      const user = { ...store, UserName: "kay", PhoneNumber: "+86-13800138000", Email: "kay@example.com", Password: "Aa1!aaaaaa" };
      for (const name of ["PhoneNumber", "Email", "Password", "UserName"] as const) {
        const { [name]: left, ...rest } = user;
        void left;
        expect(await outcomeOf(vendor, call({ call: "CreateUser", params: rest }))).toMatchObject({ code: "MissingParameter" });
      }
      expect(sandbox.users.size).toBe(0);
      await ok(vendor, "CreateUser", user);
    }));
});
