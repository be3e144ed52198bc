/**
 * The bridge's searches at the vendor read every page: an existing user is adopted, and an existing group
 * found, however many look-alikes a substring search answers before it. Volcengine groups are created as
 * its SDK model requires, and a refused group is told as a group.
 */
import type { Json } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { CORE_GROUP } from "./helpers/bridge";
import { person, VENDORS, withSandboxBridge } from "./helpers/vendors";

const fixture = (name: string) => VENDORS.find((v) => v.name === name)!;
const group = (displayName: string, extra: Json = {}) => ({ schemas: [CORE_GROUP], displayName, members: [], ...extra });
/** More look-alikes than the 100 a page holds, seeded before the one meant (so it is on the second page). */
const LOOK_ALIKES = 150;

describe.each(VENDORS)("$name: adoption", (f) => {
  it("finds the existing user among more than a page of look-alikes", () =>
    withSandboxBridge(f, { existingUsers: "adopt" }, async (bridge, sandbox) => {
      for (let i = 0; i < LOOK_ALIKES; i++) sandbox.seedUser(f.existing(`x${String(i).padStart(3, "0")}kay@example.com`));
      const meant = sandbox.seedUser(f.existing("kay@example.com"));
      const res = await bridge.as("t").post("/Users", person()).expect(201);
      expect(res.body[VENDOR_LINK]).toMatchObject({ vendorUserId: f.keyOf(meant), link: "adopted" });
      expect(sandbox.users.size).toBe(LOOK_ALIKES + 1);
    }));
});

describe.each(["tencent-cic", "volcengine-cloudidentity"].map(fixture))("$name: a SCIM group of an existing vendor group's name", (f) => {
  it("is linked to it, found among more than a page of look-alikes; no duplicate is created", () =>
    withSandboxBridge(f, { groups: { unknown: "create" } }, async (bridge, sandbox) => {
      for (let i = 0; i < LOOK_ALIKES; i++) sandbox.seedGroup(`g-alike-${i}`, `Finance-${String(i).padStart(3, "0")}`);
      const meant = sandbox.seedGroup("g-meant", "Finance");
      const user = (await bridge.as("t").post("/Users", person()).expect(201)).body;
      await bridge
        .as("t")
        .post("/Groups", group("Finance", { members: [{ value: user.id }] }))
        .expect(201);
      expect(sandbox.callsOf("CreateGroup")).toEqual([]);
      expect(meant.members.has(user[VENDOR_LINK].vendorUserId as string)).toBe(true);
    }));
});

describe("Volcengine groups", () => {
  const volcengine = fixture("volcengine-cloudidentity");

  it("are created with the JoinType the model requires (Manual: the bridge adds each member), within its limits", () =>
    withSandboxBridge(volcengine, { groups: { unknown: "create" } }, async (bridge, sandbox) => {
      const longest = "G".repeat(63);
      await bridge
        .as("t")
        .post("/Groups", group(longest, { externalId: "d".repeat(128) }))
        .expect(201);
      const [created] = sandbox.callsOf("CreateGroup");
      expect(created).toMatchObject({ answer: "ok", params: { GroupName: longest, JoinType: "Manual", Description: "d".repeat(128) } });
    }));

  it("a name over the model's 63 bytes is a 400 that names the group, and nothing is sent", () =>
    withSandboxBridge(volcengine, { groups: { unknown: "create" } }, async (bridge, sandbox) => {
      const res = await bridge
        .as("t")
        .post("/Groups", group("G".repeat(64)))
        .expect(400);
      expect(res.body.detail).toMatch(/^This group cannot be provisioned to volcengine-cloudidentity: .*GroupName takes at most 63 bytes/);
      expect(sandbox.callsOf("CreateGroup")).toEqual([]);
    }));

  it("a group the vendor refuses is told as the group, with the vendor's code", () =>
    withSandboxBridge(volcengine, { groups: { unknown: "create" } }, async (bridge, sandbox) => {
      sandbox.failNext({ action: "CreateGroup", status: 400, code: "ParamIncludeSensitiveWord", message: "the name holds a sensitive word" });
      const res = await bridge.as("t").post("/Groups", group("Finance")).expect(400);
      expect(res.body.detail).toMatch(/^volcengine-cloudidentity refused the group: ParamIncludeSensitiveWord/);
      expect(res.body.detail).not.toMatch(/user/);
    }));
});
