import { CORE_GROUP, patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await startTestBridge([{ name: "acme" }, { name: "quiet", patchResponse: "no-content" }]);
});
afterEach(async () => bridge.close());

async function users(n: number, target = "acme", prefix = "member"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++)
    ids.push(
      (
        await bridge
          .as(target)
          .post("/Users", user(`${prefix}${i}@example.com`))
          .expect(201)
      ).body.id,
    );
  return ids;
}

async function group(name: string, members: string[] = [], target = "acme"): Promise<{ id: string; meta: { version: string } }> {
  return (
    await bridge
      .as(target)
      .post("/Groups", { schemas: [CORE_GROUP], displayName: name, members: members.map((value) => ({ value })) })
      .expect(201)
  ).body;
}

describe("Groups", () => {
  it("POST with members answers 201 with typed members, Location and ETag", async () => {
    const [a, b] = await users(2);
    const res = await bridge
      .as("acme")
      .post("/Groups", { schemas: [CORE_GROUP], displayName: "Engineering", members: [{ value: a }, { value: b, display: "Bee" }] })
      .expect(201);
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.headers.etag).toBe(res.body.meta.version);
    expect(res.body.members).toEqual([
      { value: a, type: "User", $ref: `${bridge.base}/Users/${a}` },
      { value: b, display: "Bee", type: "User", $ref: `${bridge.base}/Users/${b}` },
    ]);
  });

  it("a user lists the groups it belongs to", async () => {
    const [a] = await users(1);
    const g = await group("Sales", [a!]);
    const res = await bridge.as("acme").get(`/Users/${a}`).expect(200);
    expect(res.body.groups).toEqual([{ value: g.id, display: "Sales", $ref: `${bridge.base}/Groups/${g.id}`, type: "direct" }]);
  });

  it("50 concurrent member-adding PATCHes to one group leave 50 members", async () => {
    const ids = await users(50);
    const g = await group("Everyone");
    const results = await Promise.all(
      ids.map((id) =>
        fetch(`${bridge.base}/Groups/${g.id}`, {
          method: "PATCH",
          headers: { authorization: `Bearer ${bridge.token("acme")}`, "content-type": "application/scim+json" },
          body: JSON.stringify(patchOp({ op: "Add", path: "members", value: [{ $ref: null, value: id }] })),
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const res = await bridge.as("acme").get(`/Groups/${g.id}`).expect(200);
    expect(res.body.members).toHaveLength(50);
    expect(new Set(res.body.members.map((m: { value: string }) => m.value))).toEqual(new Set(ids));
  });

  it("50 concurrent PATCHes that go through scimmy's read-modify-write (externalId and members in one message) lose nothing", async () => {
    const ids = await users(50, "acme", "rmw");
    const g = await group("Mixed");
    const results = await Promise.all(
      ids.map((id, i) =>
        fetch(`${bridge.base}/Groups/${g.id}`, {
          method: "PATCH",
          headers: { authorization: `Bearer ${bridge.token("acme")}`, "content-type": "application/scim+json" },
          body: JSON.stringify(patchOp({ op: "add", path: "members", value: [{ value: id }] }, { op: "add", path: "externalId", value: `ext-${i}` })),
        }),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const res = await bridge.as("acme").get(`/Groups/${g.id}`).expect(200);
    expect(res.body.members).toHaveLength(50);
  });

  it("removes members by members[value eq], by value list, and all at once", async () => {
    const [a, b, c, d] = await users(4);
    const g = await group("Ops", [a!, b!, c!, d!]);
    await bridge
      .as("acme")
      .patch(`/Groups/${g.id}`, patchOp({ op: "remove", path: `members[value eq "${a}"]` }))
      .expect(200);
    const afterList = await bridge
      .as("acme")
      .patch(`/Groups/${g.id}`, patchOp({ op: "Remove", path: "members", value: [{ value: b }] }))
      .expect(200);
    expect(afterList.body.members.map((m: { value: string }) => m.value)).toEqual([c, d]);
    const none = await bridge
      .as("acme")
      .patch(`/Groups/${g.id}`, patchOp({ op: "remove", path: "members" }))
      .expect(200);
    expect(none.body.members ?? []).toEqual([]);
  });

  it("replace members sets exactly the list given", async () => {
    const [a, b, c] = await users(3);
    const g = await group("Replace", [a!, b!]);
    const res = await bridge
      .as("acme")
      .patch(`/Groups/${g.id}`, patchOp({ op: "replace", path: "members", value: [{ value: c }, { value: b }] }))
      .expect(200);
    expect(res.body.members.map((m: { value: string }) => m.value).sort()).toEqual([b, c].sort());
  });

  it("PUT replaces name and members", async () => {
    const [a, b] = await users(2);
    const g = await group("Before", [a!]);
    const res = await bridge
      .as("acme")
      .put(`/Groups/${g.id}`, { schemas: [CORE_GROUP], displayName: "After", members: [{ value: b }] })
      .expect(200);
    expect(res.body.displayName).toBe("After");
    expect(res.body.members.map((m: { value: string }) => m.value)).toEqual([b]);
  });

  it("deleting a user removes it from its groups and bumps the group's version", async () => {
    const [a, b] = await users(2);
    const g = await group("Leavers", [a!, b!]);
    await bridge.as("acme").delete(`/Users/${a}`).expect(204);
    const res = await bridge.as("acme").get(`/Groups/${g.id}`).expect(200);
    expect(res.body.members.map((m: { value: string }) => m.value)).toEqual([b]);
    expect(res.body.meta.version).not.toBe(g.meta.version);
  });

  it("DELETE answers 204; a PATCH to a deleted group is 404", async () => {
    const g = await group("Gone");
    await bridge.as("acme").delete(`/Groups/${g.id}`).expect(204);
    await bridge
      .as("acme")
      .patch(`/Groups/${g.id}`, patchOp({ op: "add", path: "members", value: [{ value: "x" }] }))
      .expect(404);
  });

  it("excludedAttributes=members leaves members out", async () => {
    const [a] = await users(1);
    const g = await group("Big", [a!]);
    const one = await bridge.as("acme").get(`/Groups/${g.id}?excludedAttributes=members`).expect(200);
    expect(one.body.members).toBeUndefined();
    expect(one.body.displayName).toBe("Big");
    const list = await bridge.as("acme").get("/Groups?excludedAttributes=members").expect(200);
    expect(list.body.Resources[0].members).toBeUndefined();
  });

  it("a target set to no-content answers PATCH with 204", async () => {
    const [a] = await users(1, "quiet");
    const g = await group("Quiet", [], "quiet");
    const res = await bridge
      .as("quiet")
      .patch(`/Groups/${g.id}`, patchOp({ op: "add", path: "members", value: [{ value: a }] }))
      .expect(204);
    expect(res.text).toBe("");
    expect((await bridge.as("quiet").get(`/Groups/${g.id}`).expect(200)).body.members).toHaveLength(1);
  });

  it("a membership PATCH on a large group touches rows, not the whole group (stored as rows)", async () => {
    const g = await group("Large");
    const members = Array.from({ length: 5000 }, (_, i) => ({ value: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` }));
    await bridge.stores.members.add("acme", g.id, members);
    const [a] = await users(1);
    await bridge
      .as("acme")
      .patch(`/Groups/${g.id}?excludedAttributes=members`, patchOp({ op: "add", path: "members", value: [{ value: a }] }))
      .expect(200);
    expect(await bridge.stores.members.of("acme", g.id)).toHaveLength(5001);
  });

  it("projects member sub-attributes: attributes=members.value, excludedAttributes=members.display", async () => {
    const [a] = await users(1);
    const g = await group("Projected", [a!]);
    await bridge.stores.members.add("acme", g.id, [{ value: a!, display: "Shown" }]);
    const only = await bridge.as("acme").get(`/Groups/${g.id}?attributes=displayName,members.value`).expect(200);
    expect(only.body.members).toEqual([{ value: a }]);
    const without = await bridge.as("acme").get(`/Groups/${g.id}?excludedAttributes=members.display`).expect(200);
    expect(without.body.members).toEqual([{ value: a, type: "User", $ref: `${bridge.base}/Users/${a}` }]);
  });

  it("reads a large group whole: every member, in order", async () => {
    const g = await group("Big Read");
    const members = Array.from({ length: 5000 }, (_, i) => ({ value: `m-${String(i).padStart(5, "0")}` }));
    await bridge.stores.members.add("acme", g.id, members);
    const res = await bridge.as("acme").get(`/Groups/${g.id}`).expect(200);
    expect(res.body.members.map((m: { value: string }) => m.value)).toEqual(members.map((m) => m.value));
    const list = await bridge.as("acme").get('/Groups?filter=displayName eq "Big Read"').expect(200);
    expect(list.body.Resources[0].members).toHaveLength(5000);
  });
});
