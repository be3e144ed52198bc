/** Malformed and hostile requests: each gets a SCIM error with a 4xx status, never a 500, and the server keeps serving. */
import { CORE_GROUP, startTestBridge, user, type TestBridge } from "./helpers/bridge";

let bridge: TestBridge;
let userId: string;
let groupId: string;
beforeAll(async () => {
  bridge = await startTestBridge([{ name: "acme" }]);
  userId = (await bridge.as("acme").post("/Users", user("base@example.com")).expect(201)).body.id;
  groupId = (
    await bridge
      .as("acme")
      .post("/Groups", { schemas: [CORE_GROUP], displayName: "Base" })
      .expect(201)
  ).body.id;
});
afterAll(async () => bridge.close());

const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const cases: [string, string, () => string, unknown][] = [
  ["PATCH group without Operations", "PATCH", () => `/Groups/${groupId}`, { schemas: [PATCH] }],
  ["PATCH group with empty Operations", "PATCH", () => `/Groups/${groupId}`, { schemas: [PATCH], Operations: [] }],
  ["PATCH user without Operations", "PATCH", () => `/Users/${userId}`, { schemas: [PATCH] }],
  ["PATCH with Operations not a list", "PATCH", () => `/Users/${userId}`, { schemas: [PATCH], Operations: "replace" }],
  ["PATCH with an operation that is not an object", "PATCH", () => `/Groups/${groupId}`, { schemas: [PATCH], Operations: [42] }],
  ["PATCH add members with a number", "PATCH", () => `/Groups/${groupId}`, { schemas: [PATCH], Operations: [{ op: "add", path: "members", value: 7 }] }],
  [
    "PATCH with a broken filter in the path",
    "PATCH",
    () => `/Users/${userId}`,
    { schemas: [PATCH], Operations: [{ op: "replace", path: 'emails[type eq "work"', value: "x" }] },
  ],
  ["PATCH remove without path", "PATCH", () => `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "remove" }] }],
  [
    "PATCH replace userName with an object",
    "PATCH",
    () => `/Users/${userId}`,
    { schemas: [PATCH], Operations: [{ op: "replace", path: "userName", value: { a: 1 } }] },
  ],
  ["POST user with userName a number", "POST", () => "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: 12 }],
  ["POST user with emails not a list", "POST", () => "/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "e@x", emails: "e@x" }],
  ["POST group without displayName", "POST", () => "/Groups", { schemas: [CORE_GROUP] }],
  ["PUT group with a null body", "PUT", () => `/Groups/${groupId}`, null],
  ["search with a filter that is not text", "POST", () => "/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: 5 }],
  ["search with a bad startIndex", "POST", () => "/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], startIndex: "x" }],
];

describe.each(cases)("%s", (_name, method, path, body) => {
  it("is a 4xx SCIM error", async () => {
    const req = bridge.as("acme")[method.toLowerCase() as "post" | "put" | "patch"](path(), body as object);
    const res = await req;
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
    expect(res.body.detail).toEqual(expect.any(String));
    expect(res.text).not.toMatch(/\bat .+\.(js|ts):\d+/);
  });
});

it("the server is still serving and nothing was lost", async () => {
  expect((await bridge.as("acme").get(`/Users/${userId}`).expect(200)).body.userName).toBe("base@example.com");
  expect((await bridge.as("acme").get(`/Groups/${groupId}`).expect(200)).body.displayName).toBe("Base");
});

it("a store that cannot be reached is a 503 with Retry-After, not a 500; the server stays up", async () => {
  const { postgresStores } = await import("../src/store/open");
  // nothing listens on port 1: every query fails with ECONNREFUSED
  const down = postgresStores("postgres://nobody@127.0.0.1:1/none", { poolSize: 1 });
  const broken = await startTestBridge([{ name: "acme" }], { stores: down });
  try {
    const res = await broken.as("acme").get("/Users").expect(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.body).toMatchObject({ status: "503" });
    expect((await broken.raw().get("/readyz").expect(503)).body.status).toBe("unavailable");
    expect((await broken.raw().get("/healthz").expect(200)).body.status).toBe("ok");
  } finally {
    await broken.close();
    await down.admin.close();
  }
});
