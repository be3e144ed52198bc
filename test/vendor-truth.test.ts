/**
 * What the vendors' SDK models and seeds say, held against the connectors: CCC's JSON list shape, CIAM's
 * unmasked reads, Huawei's 500 as a refusal, a 'taken' value on update, a vendor user deleted out of band,
 * and a refused deprovisioning step answered so that the IdP retries.
 */
import { configFrom } from "../src/config/load";
import { createLogger } from "../src/log";
import { reconcile } from "../src/provisioning/reconcile";
import { buildProvisioners } from "../src/provisioning/targets";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { eventually } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

const fixture = (name: string) => VENDORS.find((v) => v.name === name)!;
const person = (userName: string, extra: Record<string, unknown> = {}) =>
  user(userName, {
    emails: [{ value: userName, primary: true }],
    phoneNumbers: [{ value: "13800138000", type: "mobile" }],
    displayName: "Ada Lovelace",
    ...extra,
  });

async function withVendor(
  name: string,
  run: (bridge: TestBridge, sandbox: VendorSandbox, vendor: Record<string, unknown>) => Promise<void>,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const f = fixture(name);
  const sandbox = f.sandbox();
  const vendor = { ...f.vendor(await sandbox.listen()), ...extra };
  const bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV });
  try {
    await run(bridge, sandbox, vendor);
  } finally {
    await bridge.close();
    await sandbox.close();
  }
}

async function reconcileReport(bridge: TestBridge, vendor: Record<string, unknown>) {
  const built = buildProvisioners(
    configFrom({ targets: [{ name: "t", tokens: [{ sha256: "c".repeat(64) }], vendor }] }),
    bridge.stores,
    createLogger("error"),
    ENV,
  );
  try {
    return await reconcile("t", built.vendorProvisioners.get("t")!, bridge.stores, { fix: false });
  } finally {
    await built.close();
  }
}

it("CCC: reconcile reads Alibaba's JSON list shape (Users.List.User[]) and sees every agent", () =>
  withVendor("aliyun-ccc", async (bridge, _sandbox, vendor) => {
    for (const name of ["a@example.com", "b@example.com"]) await bridge.as("t").post("/Users", person(name)).expect(201);
    const report = await reconcileReport(bridge, vendor);
    expect(report.vendorUsers).toBe(2);
    expect(report.drifts).toEqual([]);
  }));

it("CIAM: reconcile compares unmasked email and phone (Original), so an untouched user shows no drift", () =>
  withVendor("tencent-ciam", async (bridge, _sandbox, vendor) => {
    await bridge
      .as("t")
      .post("/Users", person("masked@example.com", { password: "Correct-Horse-9" }))
      .expect(201);
    expect((await reconcileReport(bridge, vendor)).drifts).toEqual([]);
  }));

it("Huawei: HTTP 500 is its documented business failure: one call, a 400 that says what the vendor said", () =>
  withVendor("huawei-aicc", async (bridge, sandbox) => {
    sandbox.failNext({ action: "agentAccount/create", status: 500, code: "1", message: "check the values of parameters in the request" });
    const res = await bridge
      .as("t")
      .post("/Users", person("refused@example.com", { password: "Correct-Horse-9" }))
      .expect(400);
    expect(res.body.detail).toMatch(/check the values of parameters/);
    expect(sandbox.callsOf("agentAccount/create")).toHaveLength(1);
  }));

it("a value the vendor keeps unique, taken on update, is 409 uniqueness (as on create)", () =>
  withVendor("tencent-cic", async (bridge) => {
    await bridge.as("t").post("/Users", person("first@example.com")).expect(201);
    const second = (await bridge.as("t").post("/Users", person("second@example.com")).expect(201)).body;
    const res = await bridge
      .as("t")
      .patch(`/Users/${second.id}`, patchOp({ op: "replace", path: "emails", value: [{ value: "first@example.com", primary: true }] }))
      .expect(409);
    expect(res.body.scimType).toBe("uniqueness");
  }));

it("a vendor user deleted out of band: the next update creates it again and records the new key, instead of 400 for ever", () =>
  withVendor("tencent-cic", async (bridge, sandbox) => {
    const created = (await bridge.as("t").post("/Users", person("gone@example.com")).expect(201)).body;
    const oldKey = created[VENDOR_LINK].vendorUserId as string;
    sandbox.users.delete(oldKey);
    const res = await bridge
      .as("t")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "displayName", value: "Back Again" }))
      .expect(200);
    const newKey = res.body[VENDOR_LINK].vendorUserId as string;
    expect(newKey).not.toBe(oldKey);
    expect(sandbox.users.get(newKey)).toMatchObject({ UserName: "gone@example.com", DisplayName: "Back Again" });
    expect(bridge.logs.some((l) => l.includes("deleted outside the bridge"))).toBe(true);
  }));

it("CCC: a refused RAM login removal during deactivation is kept and retried by the bridge until the vendor takes it, logged as an error", () =>
  withVendor(
    "aliyun-ccc",
    async (bridge, sandbox) => {
      const created = (
        await bridge
          .as("t")
          .post("/Users", person("leaver@example.com", { password: "Correct-Horse-9" }))
          .expect(201)
      ).body;
      sandbox.failNext({ action: "DeleteLoginProfile", status: 400, code: "InvalidParameter.UserName", message: "refused" });
      const res = await bridge
        .as("t")
        .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "active", value: false }))
        .expect(200);
      // Accepted durably: the user is inactive, the vendor work pending with the vendor's refusal.
      expect(res.body.active).toBe(false);
      expect(res.body[VENDOR_LINK]).toMatchObject({ provisioning: "pending", provisioningVendorCode: "InvalidParameter.UserName" });
      expect(bridge.logs.some((l) => l.includes('"level":"error"') && l.includes("may still have access") && l.includes(created.id))).toBe(true);
      // No IdP retry: the bridge's own retry removes the vendor user.
      await eventually(() => sandbox.users.size === 0);
      await eventually(async () => (await bridge.as("t").get(`/Users/${created.id}`).expect(200)).body[VENDOR_LINK].provisioning === "applied");
    },
    { retry: { deprovisionMaxDelayMs: 200 } },
  ));
