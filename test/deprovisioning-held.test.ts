/**
 * A leaver who is in a group, at every vendor: the DELETE removes the vendor user (CIC refuses to delete a
 * group member until it has left its groups) and leaves no work pending. A deletion the vendor holds up for
 * a reason the bridge cannot undo leaves the user disabled at the vendor and pages, until an administrator
 * clears it; then the retry deletes it.
 */
import type { CicSandbox } from "../src/sandbox/tencent-cic";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { CORE_GROUP, eventually, outboxDrained, type TestBridge } from "./helpers/bridge";
import { person, VENDORS, withSandboxBridge, type VendorFixture } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
// A refused deprovisioning is retried at this pace: fast enough to see the retry that succeeds.
const PAGED_RETRY = { retry: { deprovisionMaxDelayMs: 200 } };

/** The target's groups: created by the bridge at membership vendors, mapped by name to a seeded one elsewhere. */
const groupsOf = (fixture: VendorFixture) =>
  fixture.groups.model === "membership" ? { groups: { unknown: "create" } } : { groups: { map: { [fixture.groups.seed.name]: fixture.groups.seed.id } } };

/** A user, and a SCIM group "Tier 1" it is a member of; answers the user's SCIM id and vendor key. */
async function memberOfTier1(bridge: TestBridge): Promise<{ id: string; key: string }> {
  const t = bridge.as("t");
  const created = (await t.post("/Users", person()).expect(201)).body;
  await t.post("/Groups", { schemas: [CORE_GROUP], displayName: "Tier 1", members: [{ value: created.id }] }).expect(201);
  return { id: created.id, key: created[VENDOR_LINK].vendorUserId as string };
}

const pendingWork = (bridge: TestBridge) => bridge.stores.outbox.list({ target: "t", state: "pending", limit: 10 });

describe.each(VENDORS)("$name: DELETE of a user who is in a group", (fixture) => {
  it("removes the vendor user and leaves no work pending", () =>
    withSandboxBridge(fixture, groupsOf(fixture), async (bridge, sandbox) => {
      if (fixture.groups.model === "userAttribute") sandbox.seedGroup(fixture.groups.seed.id, fixture.groups.seed.name);
      const { id, key } = await memberOfTier1(bridge);
      if (fixture.groups.model === "membership") expect([...sandbox.groups.values()].some((g) => g.members.has(key))).toBe(true);
      else expect(JSON.stringify(sandbox.users.get(key))).toContain(fixture.groups.seed.id);

      await bridge.as("t").delete(`/Users/${id}`).expect(204);
      await outboxDrained(bridge.stores.outbox, 10_000);
      expect(sandbox.users.has(key)).toBe(false);
      expect([...sandbox.groups.values()].some((g) => g.members.has(key))).toBe(false);
      expect(await pendingWork(bridge)).toEqual([]);
      expect((await bridge.stores.links.of("t", [id])).get(id)).toMatchObject({ state: "removed" });
    }));
});

describe("CIC: a deletion the vendor holds up", () => {
  it("a group member is disabled, taken out of its groups, then deleted", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const { id, key } = await memberOfTier1(bridge);
      const seen = sandbox.calls.length;
      await bridge.as("t").delete(`/Users/${id}`).expect(204);
      await outboxDrained(bridge.stores.outbox, 10_000);
      // Access goes first, then what holds the delete up, then the delete.
      expect(sandbox.calls.slice(seen).map((c) => `${c.action} ${c.answer}`)).toEqual([
        "DeleteUser InvalidParameter.UserAlreadyExistsGroup",
        "UpdateUserStatus ok",
        "RemoveUserFromGroup ok",
        "DeleteUser ok",
      ]);
      expect(sandbox.users.has(key)).toBe(false);
    }));

  it("held by a role assignment: disabled at once, paged as a refused deprovisioning, deleted once an administrator clears it", () =>
    withSandboxBridge(cic, PAGED_RETRY, async (bridge, vendor) => {
      const sandbox = vendor as CicSandbox;
      const { id, key } = await memberOfTier1(bridge);
      sandbox.roleAssignments.add(key);
      await bridge.as("t").delete(`/Users/${id}`).expect(204);

      // Never enabled meanwhile: disabled, and the deletion pending with the vendor's reason.
      const [work] = await eventually(async () => {
        const pending = await pendingWork(bridge);
        return pending.length > 0 && pending[0]!.lastCode === "FailedOperation.RoleConfigurationAuthorizationExist" ? pending : false;
      });
      expect(sandbox.users.get(key)).toMatchObject({ UserStatus: "Disabled" });
      expect(work).toMatchObject({ deprovision: true });
      expect(work!.lastDetail).toMatch(/disabled at tencent-cic and cannot sign in/);
      expect([...sandbox.groups.values()].some((g) => g.members.has(key))).toBe(false); // what the bridge could clear, it did
      // Paged: an error line that says the user is disabled, and the oldest-pending-deprovision age.
      expect(bridge.logs.some((l) => l.includes('"level":"error"') && l.includes("vendor user disabled") && l.includes(id))).toBe(true);
      expect((await bridge.stores.outbox.stats()).oldestDeprovision.map((o) => o.target)).toEqual(["t"]);
      expect((await bridge.stores.links.of("t", [id])).get(id)).toMatchObject({ state: "disabled" });

      // The administrator removes the assignment: the next retry deletes the user.
      sandbox.roleAssignments.delete(key);
      await outboxDrained(bridge.stores.outbox, 10_000);
      expect(sandbox.users.has(key)).toBe(false);
      expect((await bridge.stores.links.of("t", [id])).get(id)).toMatchObject({ state: "removed" });
    }));

  it("in a group made outside the bridge: disabled, paged with what to do, deleted once it has left", () =>
    withSandboxBridge(cic, PAGED_RETRY, async (bridge, sandbox) => {
      const created = (await bridge.as("t").post("/Users", person()).expect(201)).body;
      const key = created[VENDOR_LINK].vendorUserId as string;
      const outside = sandbox.seedGroup("g-outside", "Made-By-Hand");
      outside.members.add(key);
      await bridge.as("t").delete(`/Users/${created.id}`).expect(204);

      const [work] = await eventually(async () => {
        const pending = await pendingWork(bridge);
        return pending.length > 0 && pending[0]!.lastCode === "InvalidParameter.UserAlreadyExistsGroup" ? pending : false;
      });
      expect(work!.lastDetail).toMatch(/remove it from its other groups at tencent-cic/);
      expect(sandbox.users.get(key)).toMatchObject({ UserStatus: "Disabled" });
      expect(outside.members.has(key)).toBe(true); // the bridge never touches a group it knows nothing of

      outside.members.delete(key);
      await outboxDrained(bridge.stores.outbox, 10_000);
      expect(sandbox.users.has(key)).toBe(false);
    }));
});
