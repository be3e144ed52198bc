/**
 * A deprovisioning the vendor keeps refusing (a vendor rule the bridge cannot satisfy by retrying) ends in a
 * state an operator is paged for and can act on — never an endless silent retry: a dead letter with the
 * vendor's reason and a remedy that says the leaver may still have access, counted as an open
 * deprovisioning for the "leaver still has access" alert, re-driven by `outbox retry` once the cause is gone.
 */
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { eventually, patchOp, user } from "./helpers/bridge";
import { VENDORS, withSandboxBridge } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
const QUICK = { retry: { firstDelayMs: 50, maxDelayMs: 500, deprovisionMaxDelayMs: 500 } };

it("CIC refuses every deactivation: a dead letter with the reason and remedy, paged as an open deprovisioning; retried once the cause is gone", () =>
  withSandboxBridge(cic, QUICK, async (bridge, sandbox) => {
    const created = (await bridge.as("t").post("/Users", user("stays@example.com")).expect(201)).body;
    sandbox.failNext({
      action: "UpdateUserStatus",
      status: 200,
      code: "InvalidParameter",
      message: "The user is the zone's last administrator.",
      times: Infinity,
    });
    await bridge
      .as("t")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "active", value: false }))
      .expect(200);
    const [row] = await eventually(async () => {
      const failed = await bridge.store.listWork({ state: "failed", limit: 10 });
      return failed.length > 0 && failed;
    });
    expect(row).toMatchObject({ scimId: created.id, deprovision: true, lastCode: "InvalidParameter" });
    // Tried a few times, then no more: the vendor is not asked again until a person acts.
    const tries = sandbox.callsOf("UpdateUserStatus").length;
    expect(tries).toBe(3);
    const view = (await bridge.as("t").get(`/Users/${created.id}`).expect(200)).body[VENDOR_LINK];
    expect(view).toMatchObject({ provisioning: "failed", provisioningVendorCode: "InvalidParameter" });
    expect(view.provisioningReason).toContain("last administrator");
    expect(view.provisioningRemedy).toMatch(/leaver may still have access.*outbox retry/);
    expect((await bridge.store.outboxStats()).oldestDeprovision).toEqual([{ target: "t", since: row!.deprovisionAt }]);
    expect(bridge.logs.some((l) => l.includes('"level":"error"') && l.includes("the leaver may still have access") && l.includes(created.id))).toBe(true);
    expect(sandbox.callsOf("UpdateUserStatus")).toHaveLength(tries);

    // The administrator fixes the cause at the vendor and re-drives it: the leaver is disabled.
    sandbox.clearFaults();
    expect(await bridge.store.redriveWork("t", { scimId: created.id }, 60_000)).toBe(1);
    await eventually(() => [...sandbox.users.values()].every((u) => u.UserStatus === "Disabled"));
    await eventually(async () => (await bridge.store.outboxStats()).oldestDeprovision.length === 0);
  }));
