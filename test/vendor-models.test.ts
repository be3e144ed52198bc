/**
 * The sandboxes against the vendors' official SDK models and documents: the behaviours a table of
 * parameters cannot show (a refusal that depends on state, paging, the code an unknown user gets).
 */
import type { VendorSandbox } from "../src/sandbox/sandbox";
import type { CicSandbox } from "../src/sandbox/tencent";
import { call, outcomeOf, withSandbox } from "./helpers/vendors";

type Vendor = Record<string, unknown>;

/** Calls `action` and answers the vendor's result, failing the test on any refusal. */
async function ok(vendor: Vendor, action: string, params: Record<string, unknown>) {
  const outcome = await outcomeOf(vendor, call({ call: action, params }));
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
