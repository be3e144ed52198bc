import { CORE_GROUP, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { hashToken, mintToken, TokenDirectory } from "../src/http/auth";
import { VERSION } from "../src/version";

let bridge: TestBridge;
beforeEach(async () => {
  bridge = await startTestBridge([{ name: "north" }, { name: "south" }]);
});
afterEach(async () => bridge.close());

describe("targets", () => {
  it("two targets with two tokens never see each other's users or groups", async () => {
    const u = (await bridge.as("north").post("/Users", user("shared@example.com")).expect(201)).body;
    const g = (
      await bridge
        .as("north")
        .post("/Groups", { schemas: [CORE_GROUP], displayName: "North Only", members: [{ value: u.id }] })
        .expect(201)
    ).body;

    expect((await bridge.as("south").get("/Users").expect(200)).body.totalResults).toBe(0);
    expect((await bridge.as("south").get("/Groups").expect(200)).body.totalResults).toBe(0);
    expect((await bridge.as("south").get('/Users?filter=userName eq "shared@example.com"').expect(200)).body.totalResults).toBe(0);
    await bridge.as("south").get(`/Users/${u.id}`).expect(404);
    await bridge.as("south").get(`/Groups/${g.id}`).expect(404);
    await bridge.as("south").put(`/Users/${u.id}`, user("shared@example.com")).expect(404);
    await bridge
      .as("south")
      .patch(`/Groups/${g.id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "remove", path: "members" }] })
      .expect(404);
    await bridge.as("south").delete(`/Users/${u.id}`).expect(404);

    // the same userName is free in the other target
    await bridge.as("south").post("/Users", user("shared@example.com")).expect(201);
    expect((await bridge.as("north").get(`/Groups/${g.id}`).expect(200)).body.members).toHaveLength(1);
    expect((await bridge.as("north").get("/Users").expect(200)).body.totalResults).toBe(1);
  });
});

describe("authentication", () => {
  it.each(["/Users", "/Groups", "/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Users/x", "/Nowhere"])(
    "%s without a token is 401 with a SCIM error and WWW-Authenticate",
    async (path) => {
      const res = await bridge.raw().get(`/scim/v2${path}`).expect(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="scim-bridge"/);
      expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "401" });
      expect(res.body.detail).toMatch(/Bearer/);
    },
  );

  it("a wrong token and a non-bearer header are 401", async () => {
    const wrong = await bridge.raw().post("/scim/v2/Users").set("Authorization", "Bearer nope").send(user("x@example.com")).expect(401);
    expect(wrong.headers["www-authenticate"]).toContain('error="invalid_token"');
    await bridge.raw().get("/scim/v2/Users").set("Authorization", "non-token").expect(401);
    await bridge
      .raw()
      .get("/scim/v2/Users")
      .set("Authorization", `Basic ${bridge.token("north")}`)
      .expect(401);
  });

  it("the token directory resolves by hash and only the right target", () => {
    const a = mintToken();
    const b = mintToken();
    expect(a.token).not.toBe(b.token);
    expect(a.sha256).toBe(hashToken(a.token));
    const dir = new TokenDirectory([
      { name: "a", tokens: [{ sha256: a.sha256 }], patchResponse: "resource" },
      { name: "b", tokens: [{ sha256: b.sha256 }], patchResponse: "resource" },
    ]);
    expect(dir.resolve(a.token)?.name).toBe("a");
    expect(dir.resolve(b.token)?.name).toBe("b");
    expect(dir.resolve(a.sha256)).toBeUndefined();
  });
});

describe("health", () => {
  it("/healthz and /readyz answer without auth", async () => {
    expect((await bridge.raw().get("/healthz").expect(200)).body).toEqual({ status: "ok", version: VERSION });
    expect((await bridge.raw().get("/readyz").expect(200)).body).toEqual({ status: "ready", store: "sqlite" });
  });

  it("one log line per request with request id, target, method, path, status and ms", async () => {
    await bridge.as("north").get("/Users").set("X-Request-Id", "req-123").expect(200);
    const line = bridge.logs.map((l) => JSON.parse(l)).find((l) => l.requestId === "req-123");
    expect(line).toMatchObject({ message: "request", target: "north", method: "GET", path: "/scim/v2/Users", status: 200 });
    expect(typeof line.ms).toBe("number");
  });
});
