import { CORE_USER, patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await startTestBridge([{ name: "acme" }]);
});
afterEach(async () => bridge.close());

describe("Users: create, read, replace, delete", () => {
  it("POST answers 201 with the resource, a Location equal to meta.location, and an ETag equal to meta.version", async () => {
    const res = await bridge.as("acme").post("/Users", user("alice@example.com")).expect(201);
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.userName).toBe("alice@example.com");
    expect(res.body.meta.resourceType).toBe("User");
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.body.meta.location).toBe(`${bridge.base}/Users/${res.body.id}`);
    expect(res.headers.etag).toBe(res.body.meta.version);
    expect(res.headers["content-type"]).toMatch(/application\/scim\+json/);
  });

  it("GET by id returns the stored user; an unknown id is a 404 SCIM error", async () => {
    const created = (await bridge.as("acme").post("/Users", user("bob@example.com")).expect(201)).body;
    const got = await bridge.as("acme").get(`/Users/${created.id}`).expect(200);
    expect(got.body).toMatchObject({ id: created.id, userName: "bob@example.com", active: true });
    expect(got.headers.etag).toBe(created.meta.version);
    const missing = await bridge.as("acme").get("/Users/does-not-exist").expect(404);
    expect(missing.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "404" });
    expect(missing.body.detail).toContain("does-not-exist");
  });

  it("PUT replaces the user, bumps the version, and keeps id and created", async () => {
    const created = (
      await bridge
        .as("acme")
        .post("/Users", user("carol@example.com", { title: "Engineer" }))
        .expect(201)
    ).body;
    const replaced = await bridge
      .as("acme")
      .put(`/Users/${created.id}`, user("carol@example.com", { displayName: "Carol" }))
      .expect(200);
    expect(replaced.body.displayName).toBe("Carol");
    expect(replaced.body.title).toBeUndefined();
    expect(replaced.body.id).toBe(created.id);
    expect(replaced.body.meta.created).toBe(created.meta.created);
    expect(replaced.body.meta.version).not.toBe(created.meta.version);
  });

  it("PATCH answers 200 with the patched resource by default", async () => {
    const created = (await bridge.as("acme").post("/Users", user("dave@example.com")).expect(201)).body;
    const res = await bridge
      .as("acme")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "displayName", value: "Dave" }))
      .expect(200);
    expect(res.body.displayName).toBe("Dave");
    expect(res.headers.etag).toBe(res.body.meta.version);
  });

  it("a no-op PATCH still answers 200 with the resource", async () => {
    const created = (await bridge.as("acme").post("/Users", user("erin@example.com")).expect(201)).body;
    const res = await bridge
      .as("acme")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "userName", value: "erin@example.com" }))
      .expect(200);
    expect(res.body.userName).toBe("erin@example.com");
  });

  it("DELETE answers 204 and the user is gone", async () => {
    const created = (await bridge.as("acme").post("/Users", user("frank@example.com")).expect(201)).body;
    await bridge.as("acme").delete(`/Users/${created.id}`).expect(204);
    await bridge.as("acme").get(`/Users/${created.id}`).expect(404);
    await bridge.as("acme").delete(`/Users/${created.id}`).expect(404);
  });

  it("a POST without userName is 400 invalidValue naming the attribute", async () => {
    const res = await bridge
      .as("acme")
      .post("/Users", { schemas: [CORE_USER], displayName: "No Name" })
      .expect(400);
    expect(res.body.scimType).toBe("invalidValue");
    expect(res.body.detail).toContain("userName");
  });
});

describe("userName uniqueness", () => {
  it("is case-insensitive: a second POST of the same name in other case is 409 uniqueness", async () => {
    await bridge.as("acme").post("/Users", user("Grace@Example.com")).expect(201);
    const res = await bridge.as("acme").post("/Users", user("grace@example.COM")).expect(409);
    expect(res.body.scimType).toBe("uniqueness");
    expect(res.body.detail).toContain("grace@example.COM");
  });

  it("holds under concurrency: 50 simultaneous POSTs of one userName give exactly one 201", async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        fetch(`${bridge.base}/Users`, {
          method: "POST",
          headers: { authorization: `Bearer ${bridge.token("acme")}`, "content-type": "application/scim+json" },
          body: JSON.stringify(user("race@example.com")),
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    const bodies = await Promise.all(results.filter((r) => r.status === 409).map((r) => r.json() as Promise<{ scimType: string }>));
    expect(bodies.every((b) => b.scimType === "uniqueness")).toBe(true);
    const list = await bridge.as("acme").get('/Users?filter=userName eq "race@example.com"').expect(200);
    expect(list.body.totalResults).toBe(1);
  });

  it("a rename onto a taken name is 409 and leaves both users as they were", async () => {
    await bridge.as("acme").post("/Users", user("henry@example.com")).expect(201);
    const other = (await bridge.as("acme").post("/Users", user("ivy@example.com")).expect(201)).body;
    const res = await bridge
      .as("acme")
      .patch(`/Users/${other.id}`, patchOp({ op: "replace", path: "userName", value: "HENRY@example.com" }))
      .expect(409);
    expect(res.body.scimType).toBe("uniqueness");
    expect((await bridge.as("acme").get(`/Users/${other.id}`).expect(200)).body.userName).toBe("ivy@example.com");
  });
});

describe("versions: ETag, If-Match, If-None-Match", () => {
  it("If-None-Match with the current version answers 304", async () => {
    const created = (await bridge.as("acme").post("/Users", user("jack@example.com")).expect(201)).body;
    await bridge.as("acme").get(`/Users/${created.id}`).set("If-None-Match", created.meta.version).expect(304);
    await bridge.as("acme").get(`/Users/${created.id}`).set("If-None-Match", 'W/"999"').expect(200);
  });

  it("PUT, PATCH and DELETE with a stale If-Match answer 412 and change nothing", async () => {
    const created = (await bridge.as("acme").post("/Users", user("kate@example.com")).expect(201)).body;
    const updated = (
      await bridge
        .as("acme")
        .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "title", value: "A" }))
        .expect(200)
    ).body;
    const stale = created.meta.version;
    await bridge
      .as("acme")
      .put(`/Users/${created.id}`, user("kate@example.com", { title: "B" }))
      .set("If-Match", stale)
      .expect(412);
    await bridge
      .as("acme")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "title", value: "C" }))
      .set("If-Match", stale)
      .expect(412);
    const del = await bridge.as("acme").delete(`/Users/${created.id}`).set("If-Match", stale).expect(412);
    expect(del.body.detail).toContain(updated.meta.version);
    expect((await bridge.as("acme").get(`/Users/${created.id}`).expect(200)).body.title).toBe("A");
    await bridge
      .as("acme")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "title", value: "D" }))
      .set("If-Match", updated.meta.version)
      .expect(200);
    await bridge.as("acme").delete(`/Users/${created.id}`).set("If-Match", "*").expect(204);
  });
});

describe("bad input is a SCIM error, never a 500", () => {
  it("malformed JSON is 400 invalidSyntax", async () => {
    const res = await bridge
      .raw()
      .post("/scim/v2/Users")
      .set("Authorization", `Bearer ${bridge.token("acme")}`)
      .set("Content-Type", "application/scim+json")
      .send('{"userName": tre')
      .expect(400);
    expect(res.body).toMatchObject({ status: "400", scimType: "invalidSyntax" });
    expect(res.text).not.toMatch(/<html|at .*\.js:\d+/);
  });

  it("a body over the configured limit is 413", async () => {
    const small = await startTestBridge([{ name: "acme" }], { bodyLimit: "2kb" });
    try {
      const res = await small
        .as("acme")
        .post("/Users", user("big@example.com", { title: "x".repeat(4000) }))
        .expect(413);
      expect(res.body.status).toBe("413");
      expect(res.body.detail).toContain("2kb");
    } finally {
      await small.close();
    }
  });

  it("a body that is not an object is 400 invalidSyntax", async () => {
    const res = await bridge.as("acme").post("/Users", [1, 2]).expect(400);
    expect(res.body.scimType).toBe("invalidSyntax");
  });

  it("a bad filter is 400 invalidFilter", async () => {
    const res = await bridge.as("acme").get('/Users?filter=userName xx "a"').expect(400);
    expect(res.body.scimType).toBe("invalidFilter");
    const unbalanced = await bridge.as("acme").get('/Users?filter=(userName eq "a"').expect(400);
    expect(unbalanced.body.scimType).toBe("invalidFilter");
  });

  it("a wrong type is 400 invalidValue, and the server keeps serving", async () => {
    const res = await bridge
      .as("acme")
      .post("/Users", user("typed@example.com", { active: "maybe" }))
      .expect(400);
    expect(res.body.scimType).toBe("invalidValue");
    await bridge.as("acme").post("/Users", user("after@example.com")).expect(201);
  });

  it("a PATCH with an unknown op or path is a 400 SCIM error", async () => {
    const created = (await bridge.as("acme").post("/Users", user("lee@example.com")).expect(201)).body;
    const badOp = await bridge
      .as("acme")
      .patch(`/Users/${created.id}`, patchOp({ op: "move", path: "title", value: "x" }))
      .expect(400);
    expect(badOp.body.status).toBe("400");
    const badPath = await bridge
      .as("acme")
      .patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "nosuch.attr", value: "x" }))
      .expect(400);
    expect(badPath.body.scimType).toBe("invalidPath");
  });

  it("an unknown endpoint is a SCIM 404", async () => {
    const res = await bridge.as("acme").get("/Widgets").expect(404);
    expect(res.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  });

  it("Bulk is answered 501 and advertised as unsupported", async () => {
    await bridge
      .as("acme")
      .post("/Bulk", { schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], Operations: [] })
      .expect(501);
    const spc = await bridge.as("acme").get("/ServiceProviderConfig").expect(200);
    expect(spc.body.bulk.supported).toBe(false);
    expect(spc.body.etag.supported).toBe(true);
    expect(spc.body.filter).toEqual({ supported: true, maxResults: 1000 });
  });
});

describe("passwords", () => {
  it("are never returned, stored, or logged", async () => {
    const secret = "Correct-Horse-Battery-9!";
    const res = await bridge
      .as("acme")
      .post("/Users", user("pw@example.com", { password: secret }))
      .expect(201);
    expect(JSON.stringify(res.body)).not.toContain(secret);
    await bridge
      .as("acme")
      .put(`/Users/${res.body.id}`, user("pw@example.com", { password: secret }))
      .expect(200);
    await bridge
      .as("acme")
      .patch(`/Users/${res.body.id}`, patchOp({ op: "replace", path: "password", value: secret }))
      .expect(200);
    const stored = await bridge.stores.resources.get("acme", "User", res.body.id);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(bridge.logs.length).toBeGreaterThan(0);
    expect(bridge.logs.join("\n")).not.toContain(secret);
    expect(bridge.logs.join("\n")).not.toContain(bridge.token("acme"));
  });
});
