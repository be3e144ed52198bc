/**
 * What a PATCH may store, and what a projection returns.
 */
import { CORE_GROUP, CORE_USER, patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";

let bridge: TestBridge;
beforeAll(async () => {
  bridge = await startTestBridge([{ name: "a" }]);
});
afterAll(() => bridge.close());

let n = 0;
async function fresh(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return (
    await bridge
      .as("a")
      .post("/Users", user(`edge${n++}@example.com`, extra))
      .expect(201)
  ).body;
}

describe("PATCH of schemas", () => {
  it("a PATCH of schemas stores no schema URN the bridge does not serve", async () => {
    const t = bridge.as("a");
    const created = await fresh();
    await t.patch(`/Users/${String(created.id)}`, patchOp({ op: "replace", path: "schemas", value: ["urn:example:not-a-schema"] }));
    const stored = await bridge.stores.resources.get("a", "User", String(created.id));
    expect(JSON.stringify(stored!.doc.schemas ?? [])).not.toContain("urn:example:not-a-schema");
    expect((await t.get(`/Users/${String(created.id)}`).expect(200)).body.schemas).toEqual([CORE_USER]);
  });

  it("after a PATCH of schemas, the user's next Entra-style PATCH (a work email) is still applied", async () => {
    const t = bridge.as("a");
    const created = await fresh();
    await t.patch(`/Users/${String(created.id)}`, patchOp({ op: "replace", path: "schemas", value: ["urn:example:not-a-schema"] }));
    const next = await t.patch(`/Users/${String(created.id)}`, patchOp({ op: "Replace", path: 'emails[type eq "work"].value', value: "moved@example.com" }));
    expect(next.status).toBe(200);
    expect(next.body.emails[0].value).toBe("moved@example.com");
  });
});

describe("PATCH values scimmy passes through", () => {
  it("replace of emails with null removes the emails, never stores [null]", async () => {
    const t = bridge.as("a");
    const created = await fresh();
    const res = await t.patch(`/Users/${String(created.id)}`, patchOp({ op: "replace", path: "emails", value: null }));
    const stored = await bridge.stores.resources.get("a", "User", String(created.id));
    expect(stored!.doc.emails).not.toEqual([null]);
    if (res.status === 200) expect(res.body.emails).not.toEqual([null]);
  });
});

describe("projections with value filters", () => {
  it("attributes naming a whole attribute and a filtered part of it return the whole attribute", async () => {
    const created = await fresh({
      emails: [
        { value: "w@example.com", type: "work" },
        { value: "h@example.com", type: "home" },
      ],
    });
    const res = await bridge
      .as("a")
      .get(`/Users/${String(created.id)}?attributes=${encodeURIComponent('emails[type eq "work"],emails')}`)
      .expect(200);
    expect(res.body.emails).toHaveLength(2);
  });

  it("excludedAttributes with a value filter leaves the entries the filter does not match", async () => {
    const created = await fresh({
      emails: [
        { value: "w@example.com", type: "work" },
        { value: "h@example.com", type: "home" },
      ],
    });
    const res = await bridge
      .as("a")
      .get(`/Users/${String(created.id)}?excludedAttributes=${encodeURIComponent('emails[type eq "work"]')}`)
      .expect(200);
    expect(res.body.emails).toEqual([{ value: "h@example.com", type: "home" }]);
  });

  it("a group read with attributes=members[value eq ...] returns that member", async () => {
    const t = bridge.as("a");
    const member = await fresh();
    const group = (await t.post("/Groups", { schemas: [CORE_GROUP], displayName: `G${n}`, members: [{ value: member.id }] }).expect(201)).body;
    const res = await t.get(`/Groups/${String(group.id)}?attributes=${encodeURIComponent(`members[value eq "${String(member.id)}"]`)}`).expect(200);
    expect(res.body.members).toEqual([expect.objectContaining({ value: member.id })]);
  });
});
