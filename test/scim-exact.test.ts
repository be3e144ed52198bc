/**
 * RFC corners and IdP behaviour that only show on a vendor-backed target (the Tencent CIC sandbox): preconditions
 * before vendor work, projections of vendor-linked users, read-only attributes, PATCH answers, discovery per
 * target, case-insensitive names, error details a person can act on, and retries that stay idempotent.
 */
import { VENDOR_LINK } from "../src/scim-model/vendor-extension";
import { CORE_USER, ENTERPRISE, patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { VENDORS, withSandboxBridge } from "./helpers/vendors";

const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
const volcengine = VENDORS.find((v) => v.name === "volcengine-cloudidentity")!;
const JS_EXCEPTION = /Cannot (read|set|add) propert|object is not extensible|is not a function|undefined/;

function expectActionableError(res: { status: number; body: { detail?: string } }, status: number): void {
  expect(res.status).toBe(status);
  expect(res.body.detail).toEqual(expect.any(String));
  expect(res.body.detail).not.toMatch(JS_EXCEPTION);
}

describe("preconditions are checked before any vendor work (RFC 7232: 412 means not performed)", () => {
  it("stale If-Match on PUT, PATCH and DELETE, and a PUT to a taken userName, make no vendor call", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const ada = (await t.post("/Users", user("ada@example.com")).expect(201)).body;
      await t.post("/Users", user("bob@example.com")).expect(201);
      await t.patch(`/Users/${ada.id}`, patchOp({ op: "replace", path: "displayName", value: "Now" })).expect(200);
      const calls = sandbox.calls.length;
      const stale = ada.meta.version as string;
      await t
        .put(`/Users/${ada.id}`, user("ada@example.com", { displayName: "Stale" }))
        .set("If-Match", stale)
        .expect(412);
      await t
        .patch(`/Users/${ada.id}`, patchOp({ op: "replace", path: "displayName", value: "Stale" }))
        .set("If-Match", stale)
        .expect(412);
      await t.delete(`/Users/${ada.id}`).set("If-Match", stale).expect(412);
      const taken = await t.put(`/Users/${ada.id}`, user("BOB@example.com")).expect(409);
      expect(taken.body.scimType).toBe("uniqueness");
      expect(sandbox.calls.length).toBe(calls);
      expect(sandbox.users.get(ada[VENDOR_LINK].vendorUserId)!.DisplayName).not.toBe("Stale");
    }));
});

describe("attributes on multi-valued types and the vendor extension", () => {
  it("Entra's app-role type and other non-canonical types are accepted (canonical values are suggestions)", () =>
    withSandboxBridge(cic, {}, async (bridge) => {
      const t = bridge.as("t");
      const res = await t
        .post(
          "/Users",
          user("roles@example.com", {
            roles: [{ value: "Admin", type: "WindowsAzureActiveDirectoryRole", primary: false }],
            phoneNumbers: [{ value: "+8613800138000", type: "Teams" }],
          }),
        )
        .expect(201);
      expect(res.body.roles).toEqual([{ value: "Admin", type: "WindowsAzureActiveDirectoryRole", primary: false }]);
      expect(res.body.phoneNumbers[0].type).toBe("Teams");
      const schema = (await t.get(`/Schemas/${CORE_USER}`).expect(200)).body;
      const emails = schema.attributes.find((a: { name: string }) => a.name === "emails");
      expect(emails.subAttributes.find((a: { name: string }) => a.name === "type").canonicalValues).toEqual(["work", "home", "other"]);
    }));

  it("client values for the read-only vendor extension are ignored, as an object or as namespaced keys", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      sandbox.outage(true); // no link yet: the create waits, pending
      const forged = await t
        .post("/Users", user("forged@example.com", { [VENDOR_LINK]: { vendorUserId: "u-fake", link: "adopted" }, [`${VENDOR_LINK}:vendor`]: "fake-vendor" }))
        .expect(201);
      const shown = JSON.stringify((await t.get(`/Users/${forged.body.id}`).expect(200)).body);
      expect(shown).not.toContain("u-fake");
      expect(shown).not.toContain("adopted");
      expect(shown).not.toContain("fake-vendor");
      expect(JSON.stringify(await bridge.stores.resources.get("t", "User", forged.body.id))).not.toContain("u-fake");
    }));
});

describe("projections (attributes / excludedAttributes) on a vendor-linked user", () => {
  let created: Record<string, unknown>;
  const read = (bridge: TestBridge, query: string) =>
    bridge
      .as("t")
      .get(`/Users/${String(created.id)}?${query}`)
      .expect(200);

  it("sub-attributes, the extension URN and any case; schemas always stays", () =>
    withSandboxBridge(cic, {}, async (bridge) => {
      created = (
        await bridge
          .as("t")
          .post("/Users", user("proj@example.com", { [ENTERPRISE]: { department: "R&D" } }))
          .expect(201)
      ).body;
      expect((await read(bridge, "attributes=name.givenName")).body).toEqual({ schemas: created.schemas, id: created.id, name: { givenName: "Given" } });
      expect((await read(bridge, "attributes=NAME.givenName")).body.name).toEqual({ givenName: "Given" });
      expect((await read(bridge, "attributes=emails.value")).body.emails).toEqual([{ value: "proj@example.com" }]);
      const ext = (await read(bridge, `attributes=${VENDOR_LINK}`)).body;
      expect(Object.keys(ext).sort()).toEqual(["id", "schemas", VENDOR_LINK].sort());
      expect(ext[VENDOR_LINK]).toMatchObject({ vendor: expect.any(String), vendorUserId: expect.any(String), link: "created" });
      expect((await read(bridge, `attributes=${ENTERPRISE}:department`)).body[ENTERPRISE]).toEqual({ department: "R&D" });
      const excluded = (await read(bridge, "excludedAttributes=NAME.givenName,Emails")).body;
      expect(excluded.name).toEqual({ familyName: "Family" });
      expect(excluded.emails).toBeUndefined();
      expect(excluded.userName).toBe("proj@example.com");
      const listed = (await bridge.as("t").get("/Users?attributes=userName").expect(200)).body.Resources[0];
      expect(listed).toEqual({ schemas: created.schemas, id: created.id, userName: "proj@example.com" });
    }));
});

describe("PATCH answers", () => {
  it("PATCH with ?attributes= that leaves out userName answers 200 with what was asked; the change was made once", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const created = (await t.post("/Users", user("patch@example.com")).expect(201)).body;
      const res = await t.patch(`/Users/${created.id}?attributes=displayName`, patchOp({ op: "replace", path: "displayName", value: "Once" })).expect(200);
      expect(res.body).toEqual({ schemas: created.schemas, id: created.id, displayName: "Once" });
      expect(sandbox.calls.filter((c) => c.action === "UpdateUser")).toHaveLength(1);
    }));

  it("no-content answers 204 with the new ETag, and 200 when the request names attributes (RFC 7644 §3.5.2)", async () => {
    const bridge = await startTestBridge([{ name: "entra", patchResponse: "no-content" }]);
    try {
      const t = bridge.as("entra");
      const created = (await t.post("/Users", user("nc@example.com")).expect(201)).body;
      const silent = await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "displayName", value: "A" })).expect(204);
      const now = await t.get(`/Users/${created.id}`).expect(200);
      expect(silent.headers.etag).toBe(now.headers.etag);
      expect(silent.headers.etag).not.toBe(created.meta.version);
      const asked = await t.patch(`/Users/${created.id}?attributes=displayName`, patchOp({ op: "replace", path: "displayName", value: "B" })).expect(200);
      expect(asked.body.displayName).toBe("B");
      expect(asked.body.meta).toBeUndefined();
      expect(asked.headers.etag).toBe((await t.get(`/Users/${created.id}`)).headers.etag);
    } finally {
      await bridge.close();
    }
  });

  it("a vendor's 'already taken' on PATCH and PUT is 409 uniqueness, as on POST", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      sandbox.seedUser({ id: "u-other", UserName: "other@example.com", Email: "taken@example.com", UserStatus: "Enabled", UserType: "Manual" });
      const created = (await t.post("/Users", user("mine@example.com")).expect(201)).body;
      const patched = await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", path: 'emails[type eq "work"].value', value: "taken@example.com" }));
      expect(patched.status).toBe(409);
      expect(patched.body.scimType).toBe("uniqueness");
      const put = await t.put(`/Users/${created.id}`, user("mine@example.com", { emails: [{ value: "taken@example.com", type: "work", primary: true }] }));
      expect(put.status).toBe(409);
      expect(put.body.scimType).toBe("uniqueness");
    }));

  it("path-less PATCH keys are case-insensitive (DISPLAYNAME is displayName)", async () => {
    const bridge = await startTestBridge();
    try {
      const t = bridge.as("acme");
      const created = (await t.post("/Users", user("case@example.com")).expect(201)).body;
      const res = await t.patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { DISPLAYNAME: "Upper", "NAME.GIVENNAME": "Ada" } })).expect(200);
      expect(res.body.displayName).toBe("Upper");
      expect(res.body.name.givenName).toBe("Ada");
    } finally {
      await bridge.close();
    }
  });
});

describe("error details say what to send instead", () => {
  let bridge: TestBridge;
  beforeEach(async () => {
    bridge = await startTestBridge();
  });
  afterEach(() => bridge.close());

  it("an extension value that repeats schemas is taken without it; removing the extension root removes its attributes", async () => {
    const t = bridge.as("acme");
    const created = (await t.post("/Users", user("ext@example.com", { [ENTERPRISE]: { department: "Ops" } })).expect(201)).body;
    const replaced = await t
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: ENTERPRISE, value: { schemas: [ENTERPRISE], department: "R&D" } }))
      .expect(200);
    expect(replaced.body[ENTERPRISE]).toEqual({ department: "R&D" });
    const removed = await t.patch(`/Users/${created.id}`, patchOp({ op: "remove", path: ENTERPRISE })).expect(200);
    expect(removed.body[ENTERPRISE]).toBeUndefined();
    expect(removed.body.schemas).not.toContain(ENTERPRISE);
  });

  it("a body that is not UTF-8 is 400 invalidSyntax, and nothing is stored", async () => {
    const body = Buffer.concat([Buffer.from(`{"schemas":["${CORE_USER}"],"userName":"bad`), Buffer.from([0xff, 0xfe]), Buffer.from('@example.com"}')]);
    const answer = await fetch(`${bridge.base}/Users`, {
      method: "POST",
      headers: { authorization: `Bearer ${bridge.token("acme")}`, "content-type": "application/scim+json" },
      body,
    });
    const res = { status: answer.status, body: (await answer.json()) as { scimType?: string; detail?: string } };
    expectActionableError(res, 400);
    expect(res.body.scimType).toBe("invalidSyntax");
    expect(res.body.detail).toMatch(/UTF-8/);
    expect((await bridge.as("acme").get("/Users").expect(200)).body.totalResults).toBe(0);
  });

  it("a retried POST of a user that now exists is 409 with the existing id in the detail", async () => {
    const t = bridge.as("acme");
    const first = (await t.post("/Users", user("retry@example.com")).expect(201)).body;
    const again = await t.post("/Users", user("retry@example.com"));
    expectActionableError(again, 409);
    expect(again.body.scimType).toBe("uniqueness");
    expect(again.body.detail).toContain(first.id);
  });
});

describe("IdP retries after a timeout stay idempotent on a vendor target", () => {
  it("a retried POST is 409 naming the user the first attempt made, and the vendor holds one user", () =>
    withSandboxBridge(cic, {}, async (bridge, sandbox) => {
      const t = bridge.as("t");
      const first = (await t.post("/Users", user("twice@example.com")).expect(201)).body;
      const again = await t.post("/Users", user("Twice@Example.com"));
      expectActionableError(again, 409);
      expect(again.body.detail).toContain(first.id);
      expect(sandbox.calls.filter((c) => c.action === "CreateUser")).toHaveLength(1);
      expect(sandbox.users.size).toBe(1);
    }));
});

describe("discovery tells the truth per target", () => {
  it("changePassword follows the target's vendor; list pages count what they hold; /Me is 501", async () => {
    await withSandboxBridge(cic, {}, async (bridge) => {
      const spc = (await bridge.as("t").get("/ServiceProviderConfig").expect(200)).body;
      expect(spc.changePassword).toEqual({ supported: false });
      for (const path of ["/Schemas", "/ResourceTypes"]) {
        const page = (await bridge.as("t").get(path).expect(200)).body;
        expect(page.itemsPerPage).toBe(page.Resources.length);
        expect(page.totalResults).toBe(page.Resources.length);
      }
      const me = await bridge.as("t").get("/Me");
      expectActionableError(me, 501);
    });
    await withSandboxBridge(volcengine, {}, async (bridge) => {
      expect((await bridge.as("t").get("/ServiceProviderConfig").expect(200)).body.changePassword).toEqual({ supported: true });
    });
  });
});
