/** Every request Okta's SCIM 2.0 integration sends (scim-field-notes.md), with the status and body it expects. */
import { CORE_GROUP, CORE_USER, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await startTestBridge([{ name: "okta" }]);
});
afterEach(async () => bridge.close());

const oktaUser = (userName: string) => ({
  schemas: [CORE_USER],
  userName,
  name: { givenName: "Ada", familyName: "Lovelace" },
  emails: [{ primary: true, value: userName, type: "work" }],
  displayName: "Ada Lovelace",
  locale: "en-US",
  externalId: "00u1abcd",
  groups: [],
  password: "Okta-Synced-Pw-1",
  active: true,
});

describe("Okta provisioning", () => {
  it("create: filter by userName finds nothing (empty ListResponse), then POST answers 201 with the full object", async () => {
    const lookup = await bridge.as("okta").get('/Users?filter=userName eq "ada@example.com"&startIndex=1&count=100').expect(200);
    expect(lookup.body).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
    const created = await bridge.as("okta").post("/Users", oktaUser("ada@example.com")).expect(201);
    expect(created.body).toMatchObject({
      userName: "ada@example.com",
      name: { givenName: "Ada", familyName: "Lovelace" },
      externalId: "00u1abcd",
      active: true,
      locale: "en-US",
    });
    expect(created.body.password).toBeUndefined();
    const found = await bridge.as("okta").get('/Users?filter=userName eq "ADA@example.com"&startIndex=1&count=100').expect(200);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources[0].id).toBe(created.body.id);
  });

  it("create of an existing userName is 409 uniqueness", async () => {
    await bridge.as("okta").post("/Users", oktaUser("dup@example.com")).expect(201);
    const res = await bridge.as("okta").post("/Users", oktaUser("dup@example.com")).expect(409);
    expect(res.body).toMatchObject({ status: "409", scimType: "uniqueness" });
  });

  it("update: GET then PUT of the whole merged object, deactivation included", async () => {
    const created = (await bridge.as("okta").post("/Users", oktaUser("grace@example.com")).expect(201)).body;
    const current = (await bridge.as("okta").get(`/Users/${created.id}`).expect(200)).body;
    const res = await bridge
      .as("okta")
      .put(`/Users/${created.id}`, { ...current, name: { givenName: "Grace", familyName: "Hopper" }, active: false })
      .expect(200);
    expect(res.body).toMatchObject({ id: created.id, name: { givenName: "Grace", familyName: "Hopper" }, active: false });
  });

  it("deactivate and reactivate with a path-less replace of {active}", async () => {
    const created = (await bridge.as("okta").post("/Users", oktaUser("leaver@example.com")).expect(201)).body;
    const off = await bridge
      .as("okta")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { active: false } }))
      .expect(200);
    expect(off.body.active).toBe(false);
    const on = await bridge
      .as("okta")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", value: { active: true } }))
      .expect(200);
    expect(on.body.active).toBe(true);
  });

  it("import: integer paging with a stable order, 1, 101, 201 …", async () => {
    for (let i = 0; i < 250; i++)
      await bridge.stores.resources.create(
        "okta",
        "User",
        `id-${String(i).padStart(3, "0")}`,
        { schemas: [CORE_USER], userName: `u${i}` },
        { userName: `u${i}`, emails: [] },
      );
    const seen: string[] = [];
    for (const start of [1, 101, 201]) {
      const page = await bridge.as("okta").get(`/Users?startIndex=${start}&count=100`).expect(200);
      expect(page.body.totalResults).toBe(250);
      expect(page.body.startIndex).toBe(start);
      expect(page.body.itemsPerPage).toBe(start === 201 ? 50 : 100);
      seen.push(...page.body.Resources.map((r: { id: string }) => r.id));
    }
    expect(seen).toHaveLength(250);
    expect(new Set(seen).size).toBe(250);
    expect(seen[0]).toBe("id-000");
    expect(seen[249]).toBe("id-249");
  });

  describe("group push", () => {
    it("POST /Groups with an empty member list", async () => {
      const res = await bridge
        .as("okta")
        .post("/Groups", { schemas: [CORE_GROUP], displayName: "Okta Pushed", members: [] })
        .expect(201);
      expect(res.body.displayName).toBe("Okta Pushed");
    });

    it("path-less rename {id, displayName}, then add, then remove by members[value eq], then DELETE", async () => {
      const u = (await bridge.as("okta").post("/Users", oktaUser("pushed@example.com")).expect(201)).body;
      const g = (
        await bridge
          .as("okta")
          .post("/Groups", { schemas: [CORE_GROUP], displayName: "Before", members: [] })
          .expect(201)
      ).body;
      const renamed = await bridge
        .as("okta")
        .patch(`/Groups/${g.id}`, patchOp({ op: "replace", value: { id: g.id, displayName: "After" } }))
        .expect(200);
      expect(renamed.body.displayName).toBe("After");
      const added = await bridge
        .as("okta")
        .patch(`/Groups/${g.id}`, patchOp({ op: "add", path: "members", value: [{ value: u.id, display: "pushed@example.com" }] }))
        .expect(200);
      expect(added.body.members).toEqual([expect.objectContaining({ value: u.id, display: "pushed@example.com" })]);
      const removed = await bridge
        .as("okta")
        .patch(`/Groups/${g.id}`, patchOp({ op: "remove", path: `members[value eq "${u.id}"]` }))
        .expect(200);
      expect(removed.body.members ?? []).toEqual([]);
      await bridge.as("okta").delete(`/Groups/${g.id}`).expect(204);
      await bridge.as("okta").get(`/Groups/${g.id}`).expect(404);
    });
  });
});
