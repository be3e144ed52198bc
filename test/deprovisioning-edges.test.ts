/**
 * Requests that ask for a deactivation, and what reaches a vendor while a user is inactive.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { CORE_GROUP, CORE_USER, PATCH_OP, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, person, VENDORS, withSandboxBridge } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;

/** A bridge on `name`'s sandbox with groups mapped as the lifecycle tests map them. */
async function withVendor(name: string, run: (bridge: TestBridge, sandbox: VendorSandbox) => Promise<void>): Promise<void> {
  const fixture = VENDORS.find((v) => v.name === name)!;
  const sandbox = fixture.sandbox();
  const groups = fixture.groups.model === "membership" ? { unknown: "create" } : { map: { [fixture.groups.seed.name]: fixture.groups.seed.id } };
  if (fixture.groups.model === "userAttribute") sandbox.seedGroup(fixture.groups.seed.id, fixture.groups.seed.name);
  const bridge = await startTestBridge([{ name: "t", vendor: { ...fixture.vendor(await sandbox.listen()), groups } }], { env: ENV });
  try {
    await run(bridge, sandbox);
  } finally {
    await bridge.close();
    await sandbox.close();
  }
}

/** A request with raw bytes as its body (sent as they are, not re-encoded by a client library). */
function rawBody(bridge: TestBridge, method: "PATCH" | "PUT", path: string, bytes: Buffer): Promise<{ status: number; body: string }> {
  const { port } = bridge.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method,
        path: `/scim/v2${path}`,
        headers: { Authorization: `Bearer ${bridge.token("t")}`, "Content-Type": "application/scim+json", "Content-Length": bytes.length },
      },
      (res) => {
        let body = "";
        res.on("data", (chunk) => (body += String(chunk)));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(bytes);
  });
}

/** JSON text with one Latin-1 byte (0xEB, "ë") in place of `@@`, as a misconfigured proxy or IdP would send it. */
function latin1(json: unknown): Buffer {
  const [before, after] = JSON.stringify(json).split("@@");
  return Buffer.concat([Buffer.from(before!, "utf8"), Buffer.from([0xeb]), Buffer.from(after!, "utf8")]);
}

describe("a deactivation is not stopped by a body byte that is not UTF-8", () => {
  it("PATCH active=false with a Latin-1 byte in another value still deactivates the user at the vendor", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const created = (await t.post("/Users", person()).expect(201)).body;
      const key = created[VENDOR_LINK].vendorUserId as string;
      const body = latin1({
        schemas: [PATCH_OP],
        Operations: [
          { op: "replace", path: "active", value: false },
          { op: "replace", path: "displayName", value: "Zo@@" },
        ],
      });
      await rawBody(bridge, "PATCH", `/Users/${created.id}`, body);
      expect((await t.get(`/Users/${created.id}`).expect(200)).body.active).toBe(false);
      expect(sandbox.users.get(key)!.UserStatus).toBe("Disabled");
    }));

  it("Okta's deactivating PUT with a Latin-1 byte in the profile still deactivates the user at the vendor", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const created = (await t.post("/Users", person()).expect(201)).body;
      const key = created[VENDOR_LINK].vendorUserId as string;
      await rawBody(bridge, "PUT", `/Users/${created.id}`, latin1(person({ active: false, displayName: "Kay Sp@@rck" })));
      expect((await t.get(`/Users/${created.id}`).expect(200)).body.active).toBe(false);
      expect(sandbox.users.get(key)!.UserStatus).toBe("Disabled");
    }));
});

describe("a deactivation is not stopped by a request the bridge fails on", () => {
  it("Okta's path-less deactivation with a value-filter key scimmy crashes on (500) still deactivates the user at the vendor", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const created = (await t.post("/Users", person()).expect(201)).body;
      const key = created[VENDOR_LINK].vendorUserId as string;
      const res = await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { active: false, 'roles[value eq "agent"]': "x" } }));
      const active = (await t.get(`/Users/${created.id}`).expect(200)).body.active;
      expect({ server500: res.status >= 500, active, vendor: sandbox.users.get(key)!.UserStatus }).toEqual({
        server500: false,
        active: false,
        vendor: "Disabled",
      });
    }));
});

describe("a PUT that the bridge itself reads as a deactivation deactivates", () => {
  it("PUT with active=false under its core-schema URN deactivates the vendor user (or is refused, which deactivates too)", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const created = (await t.post("/Users", person()).expect(201)).body;
      const key = created[VENDOR_LINK].vendorUserId as string;
      const body: Record<string, unknown> = person();
      delete body.active;
      body[`${CORE_USER}:active`] = false;
      const res = await t.put(`/Users/${created.id}`, body);
      // The bridge's own reading of this body (compat.ts requestsDeactivation) is "deactivate": had any other
      // field been refused, deprovisioningFirst would have deactivated the user. Accepted, it must too.
      expect({ status: res.status, active: (await t.get(`/Users/${created.id}`)).body.active, vendor: sandbox.users.get(key)!.UserStatus }).toEqual({
        status: res.status,
        active: false,
        vendor: "Disabled",
      });
    }));
});

describe.each(["aliyun-ccc", "huawei-aicc", "volcengine-cloudidentity"])("%s (deactivate: delete)", (name) => {
  it("a deactivating PATCH that also sets a password sends no password call to the deleted vendor user, and logs no out-of-band deletion", () =>
    withVendor(name, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const created = (await t.post("/Users", person()).expect(201)).body;
      const from = sandbox.calls.length;
      const res = await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { active: false, password: "Leaver-Passw0rd!x" } })).expect(200);
      expect(res.body.active).toBe(false);
      const after = sandbox.calls.slice(from);
      expect(sandbox.users.size).toBe(0);
      // Nothing after the deprovisioning carries the leaver's new password.
      expect(JSON.stringify(after)).not.toContain("Leaver-Passw0rd!x");
      expect(bridge.logs.join("\n")).not.toContain("deleted outside the bridge");
    }));
});

describe("tencent-ciam (deactivate: disable, groups as a user attribute)", () => {
  it("Entra's soft delete: the renamed userName and held profile never reach the vendor, also not through a group change", () =>
    withVendor("tencent-ciam", async (bridge, sandbox) => {
      const t = bridge.as("t");
      const created = (await t.post("/Users", person()).expect(201)).body;
      const group = (await t.post("/Groups", { schemas: [CORE_GROUP], displayName: "Tier 1", members: [{ value: created.id }] }).expect(201)).body;
      const softName = "2819c223e9f34e8b8a3d63dd1a7c5c8fkay@example.com";
      await t
        .patch(
          `/Users/${created.id}`,
          patchOp(
            { op: "Replace", path: "active", value: "False" },
            { op: "Replace", path: "userName", value: softName },
            { op: "Replace", path: "displayName", value: "Held Back" },
          ),
        )
        .expect(200);
      // Entra takes a deleted user out of its groups.
      await t.patch(`/Groups/${group.id}`, patchOp({ op: "Remove", path: "members", value: [{ value: created.id }] })).expect(200);
      const sent = JSON.stringify(sandbox.calls);
      expect(sent).not.toContain("2819c223e9f34e8b");
      expect(sent).not.toContain("Held Back");
    }));
});
