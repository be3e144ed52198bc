/**
 * One user through its whole life at each seed vendor: create → profile update (Okta PUT, Entra PATCH) →
 * password change → deactivate → reactivate → delete, asserting the exact vendor calls of every step, that
 * a no-op PATCH makes none, and that a deactivation cannot be blocked by the request's other fields.
 */
import type { SandboxUser, VendorSandbox } from "../src/sandbox/sandbox";
import type { AliyunCccSandbox } from "../src/sandbox/aliyun-ccc";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, person, VENDORS, type VendorFixture } from "./helpers/vendors";

interface Lifecycle {
  create: string[];
  groupCreate: string[];
  groupAdd: string[];
  groupRemove: string[];
  groupDelete: string[];
  update: string[];
  password: string[];
  deactivate: string[];
  reactivate: string[];
  delete: string[];
  /** Whether the vendor user still exists (disabled) after deactivation, and how that shows. */
  disabled?: (u: SandboxUser) => boolean;
  /** A rename of the login is refused (the vendor cannot change it). */
  renameRefused: boolean;
}

const LIFECYCLES: Record<string, Lifecycle> = {
  "aliyun-ccc": {
    groupCreate: [],
    groupAdd: ["ModifyUser"],
    groupRemove: ["ModifyUser"],
    groupDelete: [],
    create: ["CreateUser", "UpdateLoginProfile"],
    update: ["ModifyUser"],
    password: ["UpdateLoginProfile"],
    deactivate: ["DeleteLoginProfile", "RemoveUsers"],
    reactivate: ["CreateUser", "UpdateLoginProfile"],
    delete: ["DeleteLoginProfile", "RemoveUsers"],
    renameRefused: true,
  },
  "tencent-ciam": {
    groupCreate: [],
    groupAdd: ["UpdateUser"],
    groupRemove: ["UpdateUser"],
    groupDelete: [],
    create: ["CreateUser"],
    update: ["UpdateUser"],
    password: ["SetPassword"],
    deactivate: ["UpdateUserStatus"],
    reactivate: ["UpdateUserStatus"],
    delete: ["DeleteUsers"],
    disabled: (u) => u.Status === "FREEZE",
    renameRefused: false,
  },
  "huawei-aicc": {
    groupCreate: [],
    groupAdd: ["agentAccount/update"],
    groupRemove: ["agentAccount/update"],
    groupDelete: [],
    create: ["agentAccount/create"],
    update: ["agentAccount/update"],
    password: ["agentAccount/update"],
    deactivate: ["agentAccount/delete"],
    reactivate: ["agentAccount/create"],
    delete: ["agentAccount/delete"],
    renameRefused: true,
  },
  "volcengine-cloudidentity": {
    groupCreate: ["ListGroups", "CreateGroup"],
    groupAdd: ["AddUserToGroup"],
    groupRemove: ["RemoveUserFromGroup"],
    groupDelete: ["DeleteGroup"],
    create: ["CreateUser"],
    update: ["UpdateUser"],
    password: ["ResetPassword"],
    deactivate: ["DeleteUser"],
    reactivate: ["CreateUser", "AddUserToGroup"], // re-created, then back in its groups
    delete: ["DeleteUser"],
    renameRefused: false,
  },
  "tencent-cic": {
    groupCreate: ["ListGroups", "CreateGroup"],
    groupAdd: ["AddUserToGroup"],
    groupRemove: ["RemoveUserFromGroup"],
    groupDelete: ["DeleteGroup"],
    create: ["CreateUser"],
    update: ["UpdateUser"],
    password: [], // CIC takes no password from outside
    deactivate: ["UpdateUserStatus"],
    reactivate: ["UpdateUserStatus"],
    delete: ["DeleteUser"],
    disabled: (u) => u.UserStatus === "Disabled",
    renameRefused: true,
  },
};

describe.each(VENDORS)("$name lifecycle", (fixture: VendorFixture) => {
  const expected = LIFECYCLES[fixture.name]!;
  let sandbox: VendorSandbox;
  let bridge: TestBridge;
  let seen = 0;

  /** The vendor calls made since the last step (token fetches left out). */
  function step(): { action: string; params: Record<string, unknown>; answer: string }[] {
    const calls = sandbox.calls.slice(seen).filter((c) => c.action !== "tokenByAkSk");
    seen = sandbox.calls.length;
    return calls;
  }

  beforeEach(async () => {
    sandbox = fixture.sandbox();
    seen = 0;
    const groups = fixture.groups.model === "membership" ? { unknown: "create" } : { map: { [fixture.groups.seed.name]: fixture.groups.seed.id } };
    if (fixture.groups.model === "userAttribute") sandbox.seedGroup(fixture.groups.seed.id, fixture.groups.seed.name);
    bridge = await startTestBridge([{ name: "t", vendor: { ...fixture.vendor(await sandbox.listen()), groups } }], { env: ENV });
  });

  /** Whether the vendor has the user in the group, however this vendor keeps memberships. */
  function vendorHasMembership(): boolean {
    const user = vendorUser();
    if (!user) return false;
    if (fixture.groups.model === "membership") return [...sandbox.groups.values()].some((g) => g.members.has(user.id));
    return JSON.stringify(user.SkillGroupId ?? user.UserGroup ?? user.skills ?? []).includes(fixture.groups.seed.id);
  }
  afterEach(async () => {
    await bridge.close();
    await sandbox.close();
  });

  const vendorUser = () => [...sandbox.users.values()][0];

  it("Entra's soft delete: the deactivation goes through, its renamed userName never reaches the vendor, and the restore reactivates the user as it was", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person()).expect(201)).body;
    step();
    // Entra soft-deletes in one PATCH: active false, and the UPN prefixed with the object id in hex.
    const softName = "2819c223e9f34e8b8a3d63dd1a7c5c8fkay@example.com";
    const soft = await t
      .patch(`/Users/${created.id}`, patchOp({ op: "Replace", path: "active", value: "False" }, { op: "Replace", path: "userName", value: softName }))
      .expect(200);
    expect(soft.body).toMatchObject({ active: false, userName: softName });
    expect(step().map((c) => c.action)).toEqual(expected.deactivate);
    if (expected.disabled) expect(expected.disabled(vendorUser()!)).toBe(true);
    else expect(sandbox.users.size).toBe(0);

    // Entra restores the user: the original userName comes back, and the user is active again.
    const restored = await t
      .patch(`/Users/${created.id}`, patchOp({ op: "Replace", path: "userName", value: "kay@example.com" }, { op: "Replace", path: "active", value: "True" }))
      .expect(200);
    expect(restored.body).toMatchObject({ active: true, userName: "kay@example.com" });
    expect(restored.body[VENDOR_LINK].provisioning).toBe("applied");
    // The reactivation's calls, less those that bring back group memberships (this user has none).
    expect(step().map((c) => c.action)).toEqual(expected.reactivate.filter((action) => !expected.groupAdd.includes(action)));
    expect(sandbox.users.size).toBe(1);
    if (expected.disabled) {
      expect(expected.disabled(vendorUser()!)).toBe(false);
      expect(restored.body[VENDOR_LINK].vendorUserId).toBe(created[VENDOR_LINK].vendorUserId);
    }
    // No call ever carried the soft-deleted name: no rename, no recreate under it.
    expect(JSON.stringify(sandbox.calls)).not.toContain("2819c223e9f34e8b");
  });

  it("a deactivated user's profile changes wait for its reactivation; a password still reaches a disabled vendor user", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person()).expect(201)).body;
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "active", value: false })).expect(200);
    step();
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "displayName", value: "Held Back" })).expect(200);
    expect(step()).toEqual([]);
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "password", value: "Held-Passw0rd!x" })).expect(200);
    expect(step().map((c) => c.action)).toEqual(expected.disabled ? expected.password : []);
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "active", value: true })).expect(200);
    const back = step();
    expect(JSON.stringify(back)).toContain("Held Back"); // the held profile, delivered with the reactivation
  });

  it("create → Okta PUT → Entra PATCH → password → deactivate → reactivate → delete, with the exact vendor calls", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person()).expect(201)).body;
    expect(step().map((c) => c.action)).toEqual(expected.create);
    const firstKey = created[VENDOR_LINK].vendorUserId;

    // a no-op PATCH makes no vendor call
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "displayName", value: "Kay Sparck" })).expect(200);
    expect(step()).toEqual([]);

    // Okta: GET then PUT of the whole object with one change
    const current = (await t.get(`/Users/${created.id}`).expect(200)).body;
    await t.put(`/Users/${created.id}`, { ...current, displayName: "Karen Spärck Jones" }).expect(200);
    const put = step();
    expect(put.map((c) => c.action)).toEqual(expected.update);
    expect(put.every((c) => c.answer === "ok")).toBe(true);
    expect(JSON.stringify(put[0]!.params)).toContain("Karen Sp");

    // Entra: one PATCH per path
    await t.patch(`/Users/${created.id}`, patchOp({ op: "Replace", path: 'emails[type eq "work"].value', value: "karen@example.com" })).expect(200);
    const patched = step();
    expect(patched.map((c) => c.action)).toEqual(expected.update);
    expect(JSON.stringify(patched[0]!.params)).toContain("karen@example.com");

    // Okta password sync
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { password: "New-Passw0rd!x" } })).expect(200);
    const pw = step();
    expect(pw.map((c) => c.action)).toEqual(expected.password);
    if (pw.length > 0) expect(JSON.stringify(pw[0]!.params)).toContain("New-Passw0rd!x");
    expect(bridge.logs.join("\n")).not.toContain("New-Passw0rd!x");

    // group add
    const group = (await t.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Tier 1", members: [] }).expect(201)).body;
    expect(step().map((c) => c.action)).toEqual(expected.groupCreate);
    await t.patch(`/Groups/${group.id}`, patchOp({ op: "add", path: "members", value: [{ value: created.id }] })).expect(200);
    const added = step();
    expect(added.map((c) => c.action)).toEqual(expected.groupAdd);
    expect(added.every((c) => c.answer === "ok")).toBe(true);
    expect(vendorHasMembership()).toBe(true);

    // deactivate (Entra's string boolean)
    await t.patch(`/Users/${created.id}`, patchOp({ op: "Replace", path: "active", value: "False" })).expect(200);
    expect(step().map((c) => c.action)).toEqual(expected.deactivate);
    if (expected.disabled) expect(expected.disabled(vendorUser()!)).toBe(true);
    else expect(sandbox.users.size).toBe(0);
    if (fixture.name === "aliyun-ccc") expect((sandbox as AliyunCccSandbox).loginProfiles.size).toBe(0);

    // profile changes while deactivated under the delete policy wait for reactivation
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "title", value: "Fellow" })).expect(200);
    if (!expected.disabled) expect(step()).toEqual([]);
    else step();

    // reactivate (Okta's path-less value)
    const back = (await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { active: true } })).expect(200)).body;
    expect(step().map((c) => c.action)).toEqual(expected.reactivate);
    expect(sandbox.users.size).toBe(1);
    expect(vendorHasMembership()).toBe(true); // memberships back
    if (expected.disabled) expect(expected.disabled(vendorUser()!)).toBe(false);
    else {
      // re-created from the current SCIM state, under a key the bridge recorded
      expect(JSON.stringify(vendorUser())).toContain("karen@example.com");
      expect(back[VENDOR_LINK].vendorUserId).toBe(fixture.keyOf(vendorUser()!));
      if (fixture.name !== "huawei-aicc") expect(back[VENDOR_LINK].vendorUserId).not.toBe(firstKey);
    }

    // group remove (Entra's value-list form)
    await t.patch(`/Groups/${group.id}`, patchOp({ op: "Remove", path: "members", value: [{ value: created.id }] })).expect(200);
    expect(step().map((c) => c.action)).toEqual(expected.groupRemove);
    expect(vendorHasMembership()).toBe(false);

    // delete
    await t.delete(`/Users/${created.id}`).expect(204);
    expect(step().map((c) => c.action)).toEqual(expected.delete);
    expect(sandbox.users.size).toBe(0);

    // the group: its vendor group is deleted only because the bridge created it
    await t.delete(`/Groups/${group.id}`).expect(204);
    expect(step().map((c) => c.action)).toEqual(expected.groupDelete);
    const links = await bridge.stores.links.all("t");
    expect(links).toHaveLength(1);
    expect(links[0]).toMatchObject({ scimId: created.id, state: "removed" });
    expect(links[0]!.deletedAt).toBeDefined();
  });

  it("a deactivating PUT whose other fields break the mapping still deactivates at the vendor; the broken fields are refused", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person()).expect(201)).body;
    step();
    const broken = {
      ...person(),
      active: false,
      emails: [{ primary: true, value: `${"x".repeat(400)}@example.com` }],
      phoneNumbers: [{ value: "12", type: "mobile" }],
    };
    const res = await t.put(`/Users/${created.id}`, broken).expect(400);
    expect(res.body.detail).toMatch(/^The user was deactivated; the rest of the request was not applied/);
    const now = (await t.get(`/Users/${created.id}`).expect(200)).body;
    expect(now.active).toBe(false);
    expect(now.emails).toEqual(created.emails);
    expect(step().map((c) => c.action)).toEqual(expected.deactivate);
    if (expected.disabled) expect(expected.disabled(vendorUser()!)).toBe(true);
    else expect(sandbox.users.size).toBe(0);
  });

  it("a rename of the vendor's login: refused where it cannot change, an update where it can", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person()).expect(201)).body;
    step();
    const res = await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "userName", value: "kay.renamed@example.com" }));
    if (expected.renameRefused) {
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe("mutability");
      expect(step()).toEqual([]);
      expect((await t.get(`/Users/${created.id}`).expect(200)).body.userName).toBe("kay@example.com");
    } else {
      expect(res.status).toBe(200);
      expect(step().map((c) => c.action)).toEqual(expected.update);
      expect(JSON.stringify(vendorUser())).toContain("kay.renamed@example.com");
    }
  });

  it("a DELETE of a user the vendor already lost is done (not found counts as deleted)", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person()).expect(201)).body;
    sandbox.users.clear();
    await t.delete(`/Users/${created.id}`).expect(204);
    await t.get(`/Users/${created.id}`).expect(404);
  });

  it("a deactivation of a user the vendor already lost is done; reactivation creates it again", async () => {
    const t = bridge.as("t");
    const created = (await t.post("/Users", person()).expect(201)).body;
    sandbox.users.clear();
    step();
    const off = await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { active: false } })).expect(200);
    expect(off.body.active).toBe(false);
    const calls = step();
    expect(calls.map((c) => c.action)).toEqual(expected.deactivate);
    expect(calls.at(-1)!.answer).not.toBe("ok"); // the vendor answered "not found"
    expect(sandbox.users.size).toBe(0);
    await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { active: true } })).expect(200);
    expect(step().map((c) => c.action)).toEqual(expected.create);
    expect(sandbox.users.size).toBe(1);
  });

  it("a user POSTed inactive is created disabled, or not created where deactivation deletes", async () => {
    const t = bridge.as("t");
    await t.post("/Users", person({ active: false })).expect(201);
    if (expected.disabled) expect(expected.disabled(vendorUser()!)).toBe(true);
    else expect(sandbox.users.size).toBe(0);
  });

  it("a vendor group the bridge did not create survives DELETE /Groups; its SCIM members leave it", async () => {
    if (fixture.groups.model !== "membership") return expect(fixture.groups.model).toBe("userAttribute");
    const existing = sandbox.seedGroup("g-preexisting", "Finance");
    const t = bridge.as("t");
    const u = (await t.post("/Users", person()).expect(201)).body;
    const g = (
      await t.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Finance", members: [{ value: u.id }] }).expect(201)
    ).body;
    expect(existing.members.size).toBe(1);
    step();
    await t.delete(`/Groups/${g.id}`).expect(204);
    expect(step().map((c) => c.action)).toEqual(["RemoveUserFromGroup"]);
    expect(sandbox.groups.has("g-preexisting")).toBe(true);
    expect(existing.members.size).toBe(0);
  });

  it("a member with no vendor user yet is held, and applied when the user gets one", async () => {
    const t = bridge.as("t");
    const u = (await t.post("/Users", person({ active: false })).expect(201)).body;
    const g = (await t.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Tier 1", members: [] }).expect(201)).body;
    await t.patch(`/Groups/${g.id}`, patchOp({ op: "add", path: "members", value: [{ value: u.id }] })).expect(200);
    expect((await t.get(`/Groups/${g.id}`).expect(200)).body.members).toHaveLength(1);
    await t.patch(`/Users/${u.id}`, patchOp({ op: "replace", path: "active", value: true })).expect(200);
    expect(vendorHasMembership()).toBe(true);
  });
});
