/**
 * A SCIM group's rename at a vendor whose groups have names (CIC, Volcengine Cloud Identity): the vendor
 * group the bridge created is renamed with it; a refusal leaves the SCIM group as it was; a vendor group
 * the target maps to keeps its name; a mapping without updateGroup refuses the rename before recording it.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { SandboxGroup, VendorSandbox } from "../src/sandbox/sandbox";
import { CORE_GROUP, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";
import { ENV, person, VENDORS } from "./helpers/vendors";

/** The name a vendor shows for its group: CIC's GroupName, Volcengine's DisplayName (its GroupName is fixed). */
const shownName: Record<string, (g: SandboxGroup) => unknown> = {
  "tencent-cic": (g) => g.name,
  "volcengine-cloudidentity": (g) => g.fields?.DisplayName,
};
/** What the vendor makes of a SCIM name (CIC's group names are letters, digits and '-'). */
const vendorName: Record<string, (name: string) => string> = {
  "tencent-cic": (name) => name.replace(/[^A-Za-z0-9-]/g, "-"),
  "volcengine-cloudidentity": (name) => name,
};

async function withVendor(
  name: string,
  vendorExtra: Record<string, unknown>,
  run: (bridge: TestBridge, sandbox: VendorSandbox) => Promise<void>,
  seed?: (sandbox: VendorSandbox) => void,
): Promise<void> {
  const fixture = VENDORS.find((v) => v.name === name)!;
  const sandbox = fixture.sandbox();
  seed?.(sandbox);
  const vendor = { ...fixture.vendor(await sandbox.listen()), ...vendorExtra };
  const bridge = await startTestBridge([{ name: "t", vendor }], { env: ENV });
  try {
    await run(bridge, sandbox);
  } finally {
    await bridge.close();
    await sandbox.close();
  }
}

const group = (displayName: string, members: string[] = []) => ({ schemas: [CORE_GROUP], displayName, members: members.map((value) => ({ value })) });

describe.each(["tencent-cic", "volcengine-cloudidentity"])("group renames at %s", (name) => {
  const shown = shownName[name]!;
  const at = vendorName[name]!;

  it("rename the vendor group the bridge created, by PATCH (Entra's) and by PUT, and keep its members", async () => {
    await withVendor(name, { groups: { unknown: "create" } }, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const user = (await t.post("/Users", person()).expect(201)).body;
      const g = (await t.post("/Groups", group("Sales Team", [user.id])).expect(201)).body;
      expect([...sandbox.groups.values()]).toHaveLength(1);
      const vendorGroup = [...sandbox.groups.values()][0]!;

      await t.patch(`/Groups/${g.id}`, patchOp({ op: "Replace", path: "displayName", value: "Field Sales" })).expect(200);
      expect(shown(vendorGroup)).toBe(at("Field Sales"));
      await t.put(`/Groups/${g.id}`, group("Inside Sales", [user.id])).expect(200);
      expect(shown(vendorGroup)).toBe(at("Inside Sales"));

      expect(sandbox.groups.size).toBe(1);
      expect(vendorGroup.members.size).toBe(1);
      expect((await t.get(`/Groups/${g.id}`).expect(200)).body.displayName).toBe("Inside Sales");
      // A change that keeps the name calls nothing.
      const before = sandbox.calls.length;
      await t.patch(`/Groups/${g.id}`, patchOp({ op: "replace", path: "externalId", value: "crm-7" })).expect(200);
      expect(sandbox.calls.slice(before).map((c) => c.action)).not.toContain("UpdateGroup");
    });
  });

  it("a rename the vendor refuses leaves the SCIM group and the vendor group as they were", async () => {
    await withVendor(name, { groups: { unknown: "create" } }, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const g = (await t.post("/Groups", group("Support")).expect(201)).body;
      const vendorGroup = [...sandbox.groups.values()][0]!;
      const refused =
        name === "tencent-cic"
          ? // A name another CIC group has.
            (sandbox.seedGroup("g-taken", "Taken"), await t.patch(`/Groups/${g.id}`, patchOp({ op: "replace", path: "displayName", value: "Taken" })))
          : // Longer than UpdateGroup's DisplayName takes (64 bytes): refused by the mapping before any call.
            await t.patch(`/Groups/${g.id}`, patchOp({ op: "replace", path: "displayName", value: "x".repeat(65) }));
      expect(refused.status).toBe(name === "tencent-cic" ? 409 : 400);
      expect(refused.body.detail).toBeTruthy();
      expect(shown(vendorGroup)).toBe(at("Support"));
      expect((await t.get(`/Groups/${g.id}`).expect(200)).body.displayName).toBe("Support");
    });
  });

  it("a vendor group the bridge created for one SCIM group is never taken by name for another", async () => {
    await withVendor(name, { groups: { unknown: "create" } }, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const user = (await t.post("/Users", person()).expect(201)).body;
      const first = (await t.post("/Groups", group("Alpha", [user.id])).expect(201)).body;
      const vendorGroup = [...sandbox.groups.values()][0]!;
      const twin = await t.post("/Groups", group("Alpha", [user.id]));
      expect(twin.status).toBe(409);
      expect(twin.body.detail).toContain(first.id);
      // Renamed at the vendor, its new name is its own too.
      await t.patch(`/Groups/${first.id}`, patchOp({ op: "replace", path: "displayName", value: "Beta" })).expect(200);
      if (name === "tencent-cic") expect((await t.post("/Groups", group("Beta", [])).expect(409)).body.detail).toContain(first.id);
      expect(sandbox.groups.size).toBe(1);
      expect(vendorGroup.members.size).toBe(1);
    });
  });

  it("a vendor group the target maps to keeps its name", async () => {
    await withVendor(
      name,
      { groups: { map: { Mapped: "g-admins" } } },
      async (bridge, sandbox) => {
        const t = bridge.as("t");
        const user = (await t.post("/Users", person()).expect(201)).body;
        const g = (await t.post("/Groups", group("Mapped", [user.id])).expect(201)).body;
        await t.patch(`/Groups/${g.id}`, patchOp({ op: "replace", path: "displayName", value: "Renamed In IdP" })).expect(200);
        expect(sandbox.groups.get("g-admins")!.name).toBe("Admins");
        expect(sandbox.calls.map((c) => c.action)).not.toContain("UpdateGroup");
        expect((await t.get(`/Groups/${g.id}`).expect(200)).body.displayName).toBe("Renamed In IdP");
      },
      (sandbox) => sandbox.seedGroup("g-admins", "Admins"),
    );
  });

  it("a mapping without updateGroup refuses the rename of a group the bridge created, before anything is recorded", async () => {
    const fixture = VENDORS.find((v) => v.name === name)!;
    const original = fixture.vendor("http://127.0.0.1:1").mapping as string;
    const file = parse(readFileSync(original, "utf8")) as { operations: Record<string, unknown> };
    delete file.operations.updateGroup;
    const path = join(mkdtempSync(join(tmpdir(), "mapping-")), "no-rename.yaml");
    writeFileSync(path, stringify(file));
    await withVendor(name, { mapping: path, groups: { unknown: "create" } }, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const g = (await t.post("/Groups", group("Ops")).expect(201)).body;
      const res = await t.patch(`/Groups/${g.id}`, patchOp({ op: "replace", path: "displayName", value: "Platform" }));
      expect(res.status).toBe(400);
      expect(res.body.scimType).toBe("mutability");
      expect(res.body.detail).toContain("cannot rename a group");
      expect((await t.get(`/Groups/${g.id}`).expect(200)).body.displayName).toBe("Ops");
      expect(shown([...sandbox.groups.values()][0]!)).toBe(at("Ops"));
    });
  });
});
