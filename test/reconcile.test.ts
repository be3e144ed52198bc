/**
 * Drift: a deactivated user re-enabled at the vendor, a user deleted behind the bridge's back, a field changed
 * at the vendor, and a vendor user the bridge made whose SCIM user is gone. Reported status first; --fix
 * repairs them, status first, and never touches a vendor user the bridge did not create or adopt.
 */
import { reconcile } from "../src/provisioning/reconcile";
import { buildProvisioners } from "../src/provisioning/targets";
import { createLogger } from "../src/log";
import { configFrom } from "../src/config/load";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { CORE_USER, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const person = (userName: string) => ({
  schemas: [CORE_USER],
  userName,
  name: { givenName: "Given", familyName: "Family" },
  displayName: `Display ${userName.slice(0, 4)}`,
  emails: [{ primary: true, value: userName }],
  phoneNumbers: [{ value: "13800138000", type: "mobile" }],
  active: true,
});

describe.each(VENDORS.filter((v) => ["tencent-cic", "volcengine-cloudidentity"].includes(v.name)))("reconcile: $name", (fixture) => {
  let sandbox: VendorSandbox;
  let bridge: TestBridge;
  let vendor: Record<string, unknown>;

  beforeEach(async () => {
    sandbox = fixture.sandbox();
    vendor = fixture.vendor(await sandbox.listen());
    bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV });
  });
  afterEach(async () => {
    await bridge.close();
    await sandbox.close();
  });

  async function run(fix: boolean) {
    const config = configFrom({ targets: [{ name: "t", tokens: [{ sha256: "b".repeat(64) }], vendor }] });
    const built = buildProvisioners(config, bridge.stores, createLogger("error"), ENV);
    try {
      return await reconcile("t", built.vendorProvisioners.get("t")!, bridge.stores, { fix });
    } finally {
      await built.close();
    }
  }

  it("reports seeded drift status first, and --fix repairs it", async () => {
    const t = bridge.as("t");
    const ann = (await t.post("/Users", person("ann@example.com")).expect(201)).body; // field changed at the vendor
    const ben = (await t.post("/Users", person("ben@example.com")).expect(201)).body; // deactivated, re-enabled at the vendor
    const cat = (await t.post("/Users", person("cat@example.com")).expect(201)).body; // deleted behind the bridge's back
    const dan = (await t.post("/Users", person("dan@example.com")).expect(201)).body; // SCIM-deleted, vendor user back
    const key = (u: { [VENDOR_LINK]: { vendorUserId: string } }) => u[VENDOR_LINK].vendorUserId;
    const danRecord = { ...sandbox.users.get(key(dan))! };
    await t.patch(`/Users/${ben.id}`, patchOp({ op: "replace", path: "active", value: false })).expect(200);
    await t.delete(`/Users/${dan.id}`).expect(204);
    const stranger = sandbox.seedUser({ id: "stranger-1", UserName: "stranger", UserStatus: "Enabled" });

    // the drift, made at the vendor
    sandbox.users.get(key(ann))!.DisplayName = "Changed At Vendor";
    if (fixture.name === "tencent-cic") sandbox.users.get(key(ben))!.UserStatus = "Enabled";
    else sandbox.seedUser({ id: key(ben), UserName: "ben@example.com" });
    sandbox.users.delete(key(cat));
    sandbox.seedUser(danRecord);

    const report = await run(false);
    expect(report.drifts.map((d) => [d.kind, d.userName])).toEqual([
      ["status", "ben@example.com"],
      ["missing", "cat@example.com"],
      ["orphan", "dan@example.com"],
      ["fields", "ann@example.com"],
    ]);
    expect(report.drifts[3]!.detail).toContain("Changed At Vendor");

    const fixed = await run(true);
    expect(fixed.drifts.map((d) => d.fixed)).toEqual([true, true, true, true]);
    // status first
    const fixCalls = sandbox.calls.slice(-8).map((c) => c.action);
    expect(fixCalls.indexOf(fixture.name === "tencent-cic" ? "UpdateUserStatus" : "DeleteUser")).toBeLessThan(fixCalls.indexOf("CreateUser"));

    if (fixture.name === "tencent-cic") expect(sandbox.users.get(key(ben))!.UserStatus).toBe("Disabled");
    else expect(sandbox.users.has(key(ben))).toBe(false);
    expect(sandbox.users.has(danRecord.id)).toBe(false);
    expect(sandbox.users.get(key(ann))!.DisplayName).toBe("Display ann@");
    const catNow = (await t.get(`/Users/${cat.id}`).expect(200)).body;
    expect(sandbox.users.has(key(catNow))).toBe(true);
    expect(sandbox.users.get("stranger-1")).toEqual(stranger); // never touched

    expect((await run(false)).drifts).toEqual([]);
  });
});
