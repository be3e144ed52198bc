/** Every request Microsoft Entra ID's provisioning service sends (scim-field-notes.md), with what it expects back. */
import { CORE_GROUP, CORE_USER, ENTERPRISE, patchOp, startTestBridge, type TestBridge } from "./helpers/bridge";

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await startTestBridge([{ name: "entra" }]);
});
afterEach(async () => bridge.close());

const entraUser = (userName: string) => ({
  schemas: [CORE_USER, ENTERPRISE],
  externalId: "a1b2c3",
  userName,
  active: true,
  displayName: "Alan Turing",
  emails: [{ primary: true, type: "work", value: userName }],
  name: { formatted: "Alan Turing", familyName: "Turing", givenName: "Alan" },
  [ENTERPRISE]: { employeeNumber: "1912", department: "Research" },
});

async function created(userName = "alan@contoso.com"): Promise<{ id: string }> {
  return (await bridge.as("entra").post("/Users", entraUser(userName)).expect(201)).body;
}

describe("Entra ID provisioning", () => {
  it("test connection: a filter on a random userName and on a random group name answer 200 and empty lists", async () => {
    const u = await bridge.as("entra").get(`/Users?filter=userName eq "${crypto.randomUUID()}"`).expect(200);
    expect(u.body.totalResults).toBe(0);
    expect(u.body.Resources).toEqual([]);
    const g = await bridge.as("entra").get(`/Groups?excludedAttributes=members&filter=displayName eq "${crypto.randomUUID()}"`).expect(200);
    expect(g.body.totalResults).toBe(0);
  });

  it('matching by externalId and by emails[type eq "work"].value', async () => {
    const u = await created();
    const byExternal = await bridge.as("entra").get('/Users?filter=externalId eq "a1b2c3"').expect(200);
    expect(byExternal.body.Resources.map((r: { id: string }) => r.id)).toEqual([u.id]);
    const byWorkEmail = await bridge.as("entra").get('/Users?filter=emails[type eq "work"].value eq "alan@contoso.com"').expect(200);
    expect(byWorkEmail.body.totalResults).toBe(1);
    const andFilter = await bridge.as("entra").get('/Users?filter=userName eq "alan@contoso.com" and externalId eq "a1b2c3"').expect(200);
    expect(andFilter.body.totalResults).toBe(1);
  });

  it("create with the enterprise extension", async () => {
    const res = await bridge.as("entra").post("/Users", entraUser("ext@contoso.com")).expect(201);
    expect(res.body[ENTERPRISE]).toEqual({ employeeNumber: "1912", department: "Research" });
    expect(res.body.schemas).toEqual([CORE_USER, ENTERPRISE]);
  });

  it("PATCH with capitalised ops, one operation per path, enterprise attributes by URN path", async () => {
    const u = await created();
    const res = await bridge
      .as("entra")
      .patch(
        `/Users/${u.id}`,
        patchOp(
          { op: "Replace", path: "displayName", value: "A. M. Turing" },
          { op: "Replace", path: `${ENTERPRISE}:department`, value: "Mathematics" },
          { op: "Add", path: "title", value: "Fellow" },
        ),
      )
      .expect(200);
    expect(res.body).toMatchObject({ displayName: "A. M. Turing", title: "Fellow", [ENTERPRISE]: { department: "Mathematics" } });
  });

  it("manager as a bare string id, in PATCH and in POST", async () => {
    const boss = await created("boss@contoso.com");
    const u = await created("worker@contoso.com");
    const res = await bridge
      .as("entra")
      .patch(`/Users/${u.id}`, patchOp({ op: "Add", path: `${ENTERPRISE}:manager`, value: boss.id }))
      .expect(200);
    expect(res.body[ENTERPRISE].manager).toMatchObject({ value: boss.id });
    const posted = await bridge
      .as("entra")
      .post("/Users", { ...entraUser("managed@contoso.com"), [ENTERPRISE]: { manager: boss.id } })
      .expect(201);
    expect(posted.body[ENTERPRISE].manager).toMatchObject({ value: boss.id });
  });

  it('Add to emails[type eq "work"].value when there is no work email yet creates it', async () => {
    const u = (
      await bridge
        .as("entra")
        .post("/Users", { schemas: [CORE_USER], userName: "noemail@contoso.com" })
        .expect(201)
    ).body;
    const res = await bridge
      .as("entra")
      .patch(`/Users/${u.id}`, patchOp({ op: "Add", path: 'emails[type eq "work"].value', value: "new@contoso.com" }))
      .expect(200);
    expect(res.body.emails).toEqual([{ type: "work", value: "new@contoso.com" }]);
    const again = await bridge
      .as("entra")
      .patch(`/Users/${u.id}`, patchOp({ op: "Replace", path: 'emails[type eq "work"].value', value: "newer@contoso.com" }))
      .expect(200);
    expect(again.body.emails).toEqual([{ type: "work", value: "newer@contoso.com" }]);
    const found = await bridge.as("entra").get('/Users?filter=emails.value eq "NEWER@contoso.com"').expect(200);
    expect(found.body.totalResults).toBe(1);
  });

  it("aadOptscim062020: lowercase ops and one path-less replace with dotted and URN keys", async () => {
    const u = await created();
    const res = await bridge
      .as("entra")
      .patch(
        `/Users/${u.id}`,
        patchOp({
          op: "replace",
          value: { "name.givenName": "Alan M.", [`${ENTERPRISE}:department`]: "Codebreaking", active: "False", displayName: "AMT" },
        }),
      )
      .expect(200);
    expect(res.body).toMatchObject({ name: { givenName: "Alan M." }, active: false, displayName: "AMT", [ENTERPRISE]: { department: "Codebreaking" } });
  });

  it('disable and enable with the STRING booleans "False" / "True", stored as booleans', async () => {
    const u = await created();
    const off = await bridge
      .as("entra")
      .patch(`/Users/${u.id}`, patchOp({ op: "Replace", path: "active", value: "False" }))
      .expect(200);
    expect(off.body.active).toBe(false);
    expect((await bridge.stores.resources.get("entra", "User", u.id))!.doc.active).toBe(false);
    const on = await bridge
      .as("entra")
      .patch(`/Users/${u.id}`, patchOp({ op: "Replace", path: "active", value: "True" }))
      .expect(200);
    expect(on.body.active).toBe(true);
    const posted = await bridge
      .as("entra")
      .post("/Users", { ...entraUser("stringy@contoso.com"), active: "True" })
      .expect(201);
    expect(posted.body.active).toBe(true);
    const filtered = await bridge.as("entra").get('/Users?filter=active eq "True"').expect(200);
    expect(filtered.body.totalResults).toBe(2);
  });

  it("mixed-case attribute names in filters and paths", async () => {
    const u = await created();
    const res = await bridge.as("entra").get('/Users?filter=UserName eq "alan@contoso.com" and Name.FamilyName eq Turing').expect(200);
    expect(res.body.totalResults).toBe(1);
    const patched = await bridge
      .as("entra")
      .patch(`/Users/${u.id}`, patchOp({ op: "Replace", path: "Name.GivenName", value: "Al" }, { op: "Replace", path: "DisplayName", value: "Al T" }))
      .expect(200);
    expect(patched.body.name.givenName).toBe("Al");
    expect(patched.body.displayName).toBe("Al T");
  });

  it("hard delete: DELETE /Users/{id}", async () => {
    const u = await created();
    await bridge.as("entra").delete(`/Users/${u.id}`).expect(204);
    await bridge.as("entra").get(`/Users/${u.id}`).expect(404);
  });

  describe("groups", () => {
    it("POST /Groups with Microsoft's extra schema URI; members added as [{$ref: null, value}]", async () => {
      const u = await created();
      const g = await bridge
        .as("entra")
        .post("/Groups", {
          schemas: [CORE_GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"],
          externalId: "grp-1",
          displayName: "Contoso Research",
          members: [],
        })
        .expect(201);
      expect(g.body.schemas).toEqual([CORE_GROUP]);
      const added = await bridge
        .as("entra")
        .patch(`/Groups/${g.body.id}`, patchOp({ op: "Add", path: "members", value: [{ $ref: null, value: u.id }] }))
        .expect(200);
      expect(added.body.members.map((m: { value: string }) => m.value)).toEqual([u.id]);
      const found = await bridge.as("entra").get('/Groups?excludedAttributes=members&filter=displayName eq "contoso research"').expect(200);
      expect(found.body.totalResults).toBe(1);
      expect(found.body.Resources[0].members).toBeUndefined();
    });

    it("members removed with a value list and with members[value eq]", async () => {
      const a = await created("a@contoso.com");
      const b = await created("b@contoso.com");
      const g = (
        await bridge
          .as("entra")
          .post("/Groups", { schemas: [CORE_GROUP], displayName: "Two", members: [{ value: a.id }, { value: b.id }] })
          .expect(201)
      ).body;
      await bridge
        .as("entra")
        .patch(`/Groups/${g.id}`, patchOp({ op: "Remove", path: "members", value: [{ value: a.id }] }))
        .expect(200);
      const res = await bridge
        .as("entra")
        .patch(`/Groups/${g.id}`, patchOp({ op: "Remove", path: `members[value eq "${b.id}"]` }))
        .expect(200);
      expect(res.body.members ?? []).toEqual([]);
    });
  });
});
