/**
 * Hostile input: names that reach Object.prototype, inputs that cost more than linear time, and malformed
 * bodies and parameters. Each is a 4xx SCIM error; nothing shared changes; deactivation still works after.
 * (This file does not seal the prototypes, so it proves the input checks on their own.)
 */
import { canonicalPatchPath } from "../src/scim/compat";
import type { VendorSandbox } from "../src/sandbox/sandbox";
import { CORE_GROUP, CORE_USER, patchOp, startTestBridge, user, type TestBridge } from "./helpers/bridge";
import { ENV, VENDORS } from "./helpers/vendors";

let bridge: TestBridge;
let userId: string;
let groupId: string;
const prototypeKeys = () => [Object.getOwnPropertyNames(Object.prototype).sort(), Object.getOwnPropertyNames(Array.prototype).sort()];
const pristine = prototypeKeys();

beforeAll(async () => {
  bridge = await startTestBridge([{ name: "acme" }, { name: "other" }]);
  userId = (await bridge.as("acme").post("/Users", user("base@example.com")).expect(201)).body.id;
  groupId = (
    await bridge
      .as("acme")
      .post("/Groups", { schemas: [CORE_GROUP], displayName: "Base" })
      .expect(201)
  ).body.id;
});
afterAll(async () => bridge.close());

const forbiddenPart = (name: string) => name.split(/[.:]/).find((p) => ["__proto__", "constructor", "prototype"].includes(p))!;

function expectScimClientError(res: { status: number; body: Record<string, unknown>; text: string }): void {
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  expect(typeof res.body.detail).toBe("string");
  expect(res.text).not.toMatch(/\bat .+\.(js|ts):\d+|TypeError|RangeError|ReferenceError|Cannot read prop/);
}

describe("names that reach Object.prototype are refused at every entry point", () => {
  const names = [
    "name.__proto__.expectedVersion",
    "__proto__.x",
    "name.constructor.prototype.polluted",
    "constructor",
    "emails.prototype",
    "urn:ietf:params:scim:schemas:core:2.0:User:__proto__.y",
  ];
  const entries: [string, (name: string) => Promise<{ status: number; body: Record<string, unknown>; text: string }>][] = [
    ["GET /Users?attributes", (n) => bridge.as("acme").get(`/Users?attributes=${encodeURIComponent(n)}`)],
    ["GET /Users?excludedAttributes", (n) => bridge.as("acme").get(`/Users?excludedAttributes=${encodeURIComponent(n)}`)],
    ["GET /Users?sortBy", (n) => bridge.as("acme").get(`/Users?sortBy=${encodeURIComponent(n)}`)],
    ["GET /Users/{id}?attributes", (n) => bridge.as("acme").get(`/Users/${userId}?attributes=${encodeURIComponent(n)}`)],
    ["GET /Groups/{id}?excludedAttributes", (n) => bridge.as("acme").get(`/Groups/${groupId}?excludedAttributes=${encodeURIComponent(n)}`)],
    ["POST /Users?attributes", (n) => bridge.as("acme").post(`/Users?attributes=${encodeURIComponent(n)}`, user(`p${Math.random()}@example.com`))],
    [
      "POST /.search attributes",
      (n) => bridge.as("acme").post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], attributes: [n] }),
    ],
    [
      "POST /.search excludedAttributes",
      (n) => bridge.as("acme").post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], excludedAttributes: [n] }),
    ],
    ["POST /.search sortBy", (n) => bridge.as("acme").post("/Groups/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], sortBy: n })],
    ["filter attribute", (n) => bridge.as("acme").get(`/Users?filter=${encodeURIComponent(`${n} eq "x"`)}`)],
    ["PATCH path", (n) => bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "replace", path: n, value: "1" }))],
    [
      "PATCH path filter",
      (n) => bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "replace", path: `emails[${forbiddenPart(n)} eq "x"].value`, value: "1" })),
    ],
    ["PATCH path-less value key", (n) => bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "replace", value: { [`name.${n}`]: "1" } }))],
    ["PATCH group path", (n) => bridge.as("acme").patch(`/Groups/${groupId}`, patchOp({ op: "add", path: n, value: [{ value: userId }] }))],
    ["a resource id in the URL", (n) => bridge.as("acme").get(`/Users/${encodeURIComponent(`x" or ${n} eq "y`)}`)],
    ["a resource id in a DELETE URL", (n) => bridge.as("acme").delete(`/Groups/${encodeURIComponent(`x" or ${n} pr`)}`)],
    [
      "an attribute hidden behind an escaped quote",
      (n) => bridge.as("acme").get(`/Users?attributes=${encodeURIComponent(`emails[value eq "a\\" and ${n} eq "b"]`)}`),
    ],
    [
      "a PATCH remove path hidden behind an escaped quote",
      (n) => bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "remove", path: `emails[value eq "a\\" and ${n} eq "b"]` })),
    ],
    [
      "a path-less value key with a filter",
      (n) => bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "replace", value: { [`emails[value eq "a\\" and ${n} eq "b"]`]: "x" } })),
    ],
    ["GET /Schemas?attributes", (n) => bridge.as("acme").get(`/Schemas?attributes=${encodeURIComponent(n)}`)],
    ["GET /ResourceTypes?excludedAttributes", (n) => bridge.as("acme").get(`/ResourceTypes?excludedAttributes=${encodeURIComponent(n)}`)],
    ["GET /ServiceProviderConfig?attributes", (n) => bridge.as("acme").get(`/ServiceProviderConfig?attributes=${encodeURIComponent(n)}`)],
    ["GET /ResourceTypes/{id}", (n) => bridge.as("acme").get(`/ResourceTypes/${encodeURIComponent(`User" or ${n} pr`)}`)],
  ];
  describe.each(entries)("%s", (_entry, send) => {
    it.each(names)("%s: 400, nothing shared changes", async (name) => {
      expectScimClientError(await send(name));
      expect(prototypeKeys()).toEqual(pristine);
      expect(({} as Record<string, unknown>).expectedVersion).toBeUndefined();
    });
  });

  it("body keys __proto__ / constructor / prototype are refused, at any depth", async () => {
    for (const body of [
      JSON.parse(`{"schemas":["${CORE_USER}"],"userName":"x@example.com","__proto__":{"expectedVersion":1}}`),
      { schemas: [CORE_USER], userName: "y@example.com", name: { constructor: { prototype: { polluted: 1 } } } },
      JSON.parse(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"__proto__":{"expectedVersion":3}}}]}`),
    ]) {
      const res = body.Operations ? await bridge.as("acme").patch(`/Users/${userId}`, body) : await bridge.as("acme").post("/Users", body);
      expectScimClientError(res);
      expect(res.body.scimType).toBe("invalidSyntax");
    }
    expect(prototypeKeys()).toEqual(pristine);
  });

  it("after all of it, writes without If-Match still succeed and the user can be deactivated", async () => {
    const res = await bridge
      .as("acme")
      .patch(`/Users/${userId}`, patchOp({ op: "replace", path: "active", value: false }))
      .expect(200);
    expect(res.body.active).toBe(false);
    await bridge
      .as("acme")
      .patch(`/Users/${userId}`, patchOp({ op: "replace", path: "active", value: true }))
      .expect(200);
  });
});

describe("no input costs more than linear time", () => {
  /**
   * The fastest of a few runs of each of two inputs, in ms, the runs taken in turn: the machine is shared
   * and noisy, and load that slows one input slows the other alike.
   */
  function fastestOfEach(small: () => void, large: () => void, runs = 9): { small: number; large: number } {
    const best = { small: Infinity, large: Infinity };
    const time = (work: () => void) => {
      const started = performance.now();
      work();
      return performance.now() - started;
    };
    for (let i = 0; i < runs; i++) {
      best.small = Math.min(best.small, time(small));
      best.large = Math.min(best.large, time(large));
    }
    return best;
  }

  it("PATCH path normalisation grows linearly with the path (20× the input, well under 400× the time)", () => {
    // A quadratic rewrite takes ~400× as long for 20× the input; linear takes ~20×.
    const path = (n: number) => `emails[${"a".repeat(n)}]`;
    const letters = fastestOfEach(
      () => canonicalPatchPath("User", path(3_000)),
      () => canonicalPatchPath("User", path(60_000)),
    );
    expect(letters.large).toBeLessThan(Math.max(letters.small, 0.05) * 100);
    const words = (n: number) => `emails[${"type ".repeat(n)}eq "x"]`;
    const spaced = fastestOfEach(
      () => canonicalPatchPath("User", words(1_000)),
      () => canonicalPatchPath("User", words(20_000)),
    );
    expect(spaced.large).toBeLessThan(Math.max(spaced.small, 0.05) * 100);
  });

  it("a 60,000-letter path or value key answers 400 about as fast as an ordinary PATCH", async () => {
    const ordinary = async () => {
      const started = performance.now();
      await bridge
        .as("acme")
        .patch(`/Users/${userId}`, patchOp({ op: "replace", path: 'emails[type eq "work"].value', value: "base@example.com" }))
        .expect(200);
      return performance.now() - started;
    };
    const baseline = Math.min(await ordinary(), await ordinary(), await ordinary());
    for (const body of [
      patchOp({ op: "replace", path: `emails[${"a".repeat(60_000)}]`, value: "x" }),
      patchOp({ op: "replace", value: { [`emails[${"a".repeat(60_000)}].value`]: "x" } }),
      patchOp({ op: "replace", path: `emails[${"a ".repeat(30_000)}eq "x"].value`, value: "x" }),
    ]) {
      const started = performance.now();
      const res = await bridge.as("acme").patch(`/Users/${userId}`, body);
      const took = performance.now() - started;
      expectScimClientError(res);
      expect(took).toBeLessThan(baseline * 50 + 500);
    }
  });

  it("backslash and newline runs (exponential in scimmy's and the filter parser's lexers) are refused at once", async () => {
    const started = performance.now();
    const slashes = "\\".repeat(60);
    for (const res of [
      await bridge.as("acme").get(`/Users?attributes=${encodeURIComponent(`emails[value eq "${slashes}]`)}`),
      await bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "remove", path: `emails[value eq "${slashes}]` })),
      await bridge.as("acme").get(`/Schemas?attributes=${encodeURIComponent(`emails[value eq "${slashes}]`)}`),
      await bridge.as("acme").get(`/Users/${encodeURIComponent(`x" or emails[value eq "${slashes}] eq "y`)}`),
      await bridge.as("acme").get(`/Users?filter=${encodeURIComponent(`userName eq "${"\n".repeat(40)}`)}`),
      await bridge
        .as("acme")
        .post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: `userName eq "${"\n".repeat(40)}` }),
      await bridge.as("acme").get(`/Users?filter=${encodeURIComponent(`${"(".repeat(4000)}userName pr${")".repeat(4000)}`)}`),
    ])
      expectScimClientError(res);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("filters and attribute lists are bounded in length", async () => {
    expectScimClientError(await bridge.as("acme").get(`/Users?filter=${encodeURIComponent(`userName eq "${"a".repeat(9000)}"`)}`));
    expectScimClientError(await bridge.as("acme").get(`/Users?attributes=${"a,".repeat(3000)}a`));
  });
});

describe("malformed input is a 4xx SCIM error, never a 500", () => {
  const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
  // Sent as text: a JSON serialiser on the client side would itself overflow on these.
  const deepArrays = `{"schemas":["${CORE_USER}"],"userName":"d@example.com","emails":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
  const deepObjects = `{"schemas":["${PATCH}"],"Operations":[{"op":"add","value":{"name":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}}]}`;
  const cases: [string, string, () => string, unknown][] = [
    ["schemas that is not a list", "POST", () => "/Users", { schemas: CORE_USER, userName: "s@example.com" }],
    ["schemas null on a user", "POST", () => "/Users", { schemas: null, userName: "n@example.com" }],
    ["PatchOp with Operations [null]", "PATCH", () => `/Users/${userId}`, { schemas: [PATCH], Operations: [null] }],
    ["PatchOp with schemas null", "PATCH", () => `/Users/${userId}`, { schemas: null, Operations: [{ op: "replace", path: "active", value: true }] }],
    ["PatchOp with a numeric path", "PATCH", () => `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "replace", path: 5, value: true }] }],
    ["10,000-deep nested arrays", "POST", () => "/Users", deepArrays],
    ["10,000-deep nested objects", "PATCH", () => `/Users/${userId}`, deepObjects],
    [
      "search attributes with numbers",
      "POST",
      () => "/Users/.search",
      { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], attributes: [1, 2] },
    ],
    [
      "search attributes as an object",
      "POST",
      () => "/Users/.search",
      { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], attributes: { a: 1 } },
    ],
    ["search count as an object", "POST", () => "/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], count: { n: 1 } }],
    ["search sortBy as a number", "POST", () => "/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], sortBy: 3 }],
    // Found by the fuzzer:
    ["a path-less add whose value is null", "PATCH", () => `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: "add", value: null }] }],
    ["an op that is not text", "PATCH", () => `/Users/${userId}`, { schemas: [PATCH], Operations: [{ op: [{ toString: null }] }] }],
  ];
  it.each(cases)("%s", async (_name, method, path, body) => {
    const res = await bridge.as("acme")[method.toLowerCase() as "post" | "patch"](path(), body as object);
    expectScimClientError(res);
  });

  it("an emails list holding null is stored without it, not a 500 (found by the fuzzer)", async () => {
    const res = await bridge.as("acme").post("/Users", { schemas: [CORE_USER], userName: "null-email@example.com", emails: [null] });
    expect(res.status).toBe(201);
  });

  it.each([
    "attributes=1",
    "excludedAttributes=1.2",
    "sortBy=constructor",
    "sortBy=__proto__",
    "startIndex=1e300",
    "count=1e300",
    "startIndex=-1e400",
    "attributes=,",
    "filter=((((((userName%20eq%20%22a%22",
  ])("GET /Users?%s", async (query) => expectScimClientError(await bridge.as("acme").get(`/Users?${query}`)));

  it.each([
    ["a URL that is not valid percent-encoding", () => bridge.as("acme").get("/Users/%ZZ")],
    ["a value filter in attributes that is no filter", () => bridge.as("acme").get("/Users?attributes=emails[value]")],
    ["excludedAttributes with a bare bracket", () => bridge.as("acme").get("/Users?excludedAttributes=emails[primary]")],
    ["a member id that is not a JSON string", () => bridge.as("acme").patch(`/Groups/${groupId}`, patchOp({ op: "remove", path: 'members[value eq "\\x"]' }))],
  ])("%s", async (_name, send) => expectScimClientError(await send()));

  it("If-Match holds on the membership fast path: a stale version changes no member", async () => {
    const group = (
      await bridge
        .as("acme")
        .post("/Groups", { schemas: [CORE_GROUP], displayName: "Versioned" })
        .expect(201)
    ).body;
    await bridge
      .as("acme")
      .patch(`/Groups/${group.id}`, patchOp({ op: "replace", path: "displayName", value: "Renamed" }))
      .expect(200);
    await bridge
      .as("acme")
      .patch(`/Groups/${group.id}`, patchOp({ op: "add", path: "members", value: [{ value: userId }] }))
      .set("If-Match", group.meta.version)
      .expect(412);
    expect(await bridge.stores.members.of("acme", group.id)).toEqual([]);
  });

  it("the server still serves, and the base user is intact", async () => {
    expect((await bridge.as("acme").get(`/Users/${userId}`).expect(200)).body.userName).toBe("base@example.com");
    expect(prototypeKeys()).toEqual(pristine);
  });
});

describe("nothing else in a request stops the deactivation it asks for", () => {
  let vendorBridge: TestBridge;
  let sandbox: VendorSandbox;
  beforeAll(async () => {
    const cic = VENDORS.find((v) => v.name === "tencent-cic")!;
    sandbox = cic.sandbox();
    vendorBridge = await startTestBridge([{ name: "cic", vendor: cic.vendor(await sandbox.listen()) }], { env: ENV });
  });
  afterAll(async () => {
    await vendorBridge.close();
    await sandbox.close();
  });
  const off = { op: "replace", path: "active", value: false };
  const cases: [string, (id: string) => Promise<{ status: number; body: Record<string, unknown> }>][] = [
    [
      "PATCH with an unknown path beside it",
      (id) => vendorBridge.as("cic").patch(`/Users/${id}`, patchOp(off, { op: "replace", path: "nickNameZ", value: "x" })),
    ],
    [
      "PATCH that also replaces id",
      (id) =>
        vendorBridge.as("cic").patch(`/Users/${id}`, patchOp({ op: "replace", value: { active: "False" } }, { op: "replace", path: "id", value: "other" })),
    ],
    [
      "PATCH with a manager that is a number",
      (id) =>
        vendorBridge
          .as("cic")
          .patch(`/Users/${id}`, patchOp(off, { op: "replace", path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", value: 5 })),
    ],
    ["PATCH with a hostile attributes query", (id) => vendorBridge.as("cic").patch(`/Users/${id}?attributes=__proto__`, patchOp(off))],
    [
      "PUT with an email type scimmy refuses",
      (id) => vendorBridge.as("cic").put(`/Users/${id}`, user("x@example.com", { active: false, emails: [{ value: "x@example.com", type: "weird" }] })),
    ],
    [
      "PUT with more emails than the limit",
      (id) =>
        vendorBridge
          .as("cic")
          .put(`/Users/${id}`, user("x@example.com", { active: false, emails: Array.from({ length: 101 }, (_, i) => ({ value: `e${i}@example.com` })) })),
    ],
    [
      "PATCH with more operations than the limit",
      (id) => vendorBridge.as("cic").patch(`/Users/${id}`, patchOp(off, ...Array.from({ length: 1000 }, () => ({ op: "replace", path: "title", value: "t" })))),
    ],
    [
      "PATCH with a forbidden key elsewhere in the body",
      (id) => vendorBridge.as("cic").patch(`/Users/${id}`, patchOp(off, { op: "replace", path: "name", value: { constructor: { prototype: { x: 1 } } } })),
    ],
    [
      "PATCH with a blank path and an invalid op",
      (id) =>
        vendorBridge
          .as("cic")
          .patch(`/Users/${id}`, patchOp({ op: "replace", path: "", value: { active: false } }, { op: "replace", path: "nickNameZ", value: 1 })),
    ],
  ];
  it.each(cases)("%s: deactivated at the vendor, and the refusal says so", async (_name, send) => {
    const created = (
      await vendorBridge
        .as("cic")
        .post("/Users", user(`leaver-${Math.random().toString(36).slice(2, 8)}@example.com`))
        .expect(201)
    ).body;
    const key = created["urn:ietf:params:scim:schemas:extension:scim-bridge:vendor:2.0:User"].vendorUserId as string;
    const res = await send(created.id);
    if (res.status >= 400) expect(res.body.detail).toMatch(/^The user was deactivated/);
    expect(sandbox.users.get(key)!.UserStatus).toBe("Disabled");
    expect((await vendorBridge.as("cic").get(`/Users/${created.id}`).expect(200)).body.active).toBe(false);
  });

  const key = (u: Record<string, unknown>) =>
    (u["urn:ietf:params:scim:schemas:extension:scim-bridge:vendor:2.0:User"] as { vendorUserId: string }).vendorUserId;

  it("a refused reactivation is undone at the vendor, and a later deactivation still reaches it", async () => {
    const created = (await vendorBridge.as("cic").post("/Users", user("back@example.com")).expect(201)).body;
    await vendorBridge.as("cic").patch(`/Users/${created.id}`, patchOp(off)).expect(200);
    // Reactivation with a rename the mapping refuses: 400, and the vendor user must not stay enabled.
    await vendorBridge
      .as("cic")
      .put(`/Users/${created.id}`, user("renamed@example.com", { active: true }))
      .expect(400);
    expect(sandbox.users.get(key(created))!.UserStatus).toBe("Disabled");
    expect((await vendorBridge.as("cic").get(`/Users/${created.id}`).expect(200)).body.active).toBe(false);
    // Should the vendor user be enabled behind the bridge's back, the next deactivation disables it again.
    sandbox.users.get(key(created))!.UserStatus = "Enabled";
    await vendorBridge.as("cic").patch(`/Users/${created.id}`, patchOp(off)).expect(200);
    expect(sandbox.users.get(key(created))!.UserStatus).toBe("Disabled");
  });

  it("removing active, or a PUT without it, does not reactivate an inactive user", async () => {
    const created = (await vendorBridge.as("cic").post("/Users", user("stays-off@example.com")).expect(201)).body;
    await vendorBridge.as("cic").patch(`/Users/${created.id}`, patchOp(off)).expect(200);
    await vendorBridge
      .as("cic")
      .patch(`/Users/${created.id}`, patchOp({ op: "remove", path: "active" }))
      .expect(200);
    await vendorBridge.as("cic").patch(`/Users/${created.id}`, patchOp({ op: "replace", path: "active", value: null }));
    const { active: _dropped, ...withoutActive } = user("stays-off@example.com");
    void _dropped;
    await vendorBridge.as("cic").put(`/Users/${created.id}`, withoutActive).expect(200);
    expect(sandbox.users.get(key(created))!.UserStatus).toBe("Disabled");
    expect((await vendorBridge.as("cic").get(`/Users/${created.id}`).expect(200)).body.active).toBe(false);
  });

  it("the last write to active decides: off then on again is not a deactivation", async () => {
    const created = (await vendorBridge.as("cic").post("/Users", user("net-on@example.com")).expect(201)).body;
    await vendorBridge
      .as("cic")
      .patch(`/Users/${created.id}`, patchOp(off, { op: "replace", path: "active", value: true }, { op: "replace", path: "nickNameZ", value: 1 }))
      .expect(400);
    expect(sandbox.users.get(key(created))!.UserStatus).toBe("Enabled");
  });

  it("an attribute the (vendor-extended) schema does not have is a 400 without exception text", async () => {
    const res = await vendorBridge.as("cic").get("/Users?attributes=A");
    expectScimClientError(res);
    expect(res.body.detail).toMatch(/schema does not have/);
  });

  it("a DELETE with a body that is not JSON (or a hostile one) still deletes", async () => {
    for (const body of ["not json", '{"__proto__":1}']) {
      const created = (
        await vendorBridge
          .as("cic")
          .post("/Users", user(`gone-${Math.random().toString(36).slice(2, 8)}@example.com`))
          .expect(201)
      ).body;
      await vendorBridge
        .raw()
        .delete(`/scim/v2/Users/${created.id}`)
        .set("Authorization", `Bearer ${vendorBridge.token("cic")}`)
        .set("Content-Type", "application/json")
        .send(body)
        .expect(204);
    }
  });
});

describe("more limits and read-only fields", () => {
  it("a multi-valued attribute holds at most 100 entries; group members are not limited that way", async () => {
    const many = Array.from({ length: 101 }, (_, i) => ({ value: `e${i}@example.com` }));
    expectScimClientError(await bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "add", path: "emails", value: many })));
    expectScimClientError(await bridge.as("acme").post("/Users", user("many@example.com", { emails: many })));
    const members = Array.from({ length: 150 }, (_, i) => ({ value: `m-${i}` }));
    await bridge
      .as("acme")
      .patch(`/Groups/${groupId}`, patchOp({ op: "add", path: "members", value: members }))
      .expect(200);
  });

  it.each(['emails[type eq "work" or]', "emails[((((]", "emails[type]", "emails[]", 'emails[""""]'])(
    "a PATCH path with a broken value filter (%s) is a 400, not a silent no-op",
    async (path) => {
      const res = await bridge.as("acme").patch(`/Users/${userId}`, patchOp({ op: "remove", path }));
      expectScimClientError(res);
      expect(res.body.scimType).toBe("invalidPath");
    },
  );

  it("a body that is not JSON is refused without quoting it (it may hold a password)", async () => {
    const res = await bridge
      .raw()
      .patch(`/scim/v2/Users/${userId}`)
      .set("Authorization", `Bearer ${bridge.token("acme")}`)
      .set("Content-Type", "application/json")
      .send('{"Operations":[{"op":"replace","path":"password","value":Hunter2Secret}]}');
    expectScimClientError(res);
    expect(res.text).not.toContain("Hunter2");
  });

  it("the vendor link extension is read-only: ignored on POST and PUT, refused in PATCH", async () => {
    const LINK = "urn:ietf:params:scim:schemas:extension:scim-bridge:vendor:2.0:User";
    const created = (
      await bridge
        .as("acme")
        .post("/Users", user("fake-link@example.com", { [LINK]: { vendorUserId: "victim" } }))
        .expect(201)
    ).body;
    expect(created[LINK]).toBeUndefined();
    const patched = await bridge.as("acme").patch(`/Users/${created.id}`, patchOp({ op: "replace", path: `${LINK}:vendorUserId`, value: "victim" }));
    expect(patched.status).toBe(400);
    expect(patched.body.scimType).toBe("mutability");
    expect(
      (
        await bridge
          .as("acme")
          .get(`/Users?filter=${encodeURIComponent(`${LINK}:vendorUserId eq "victim"`)}`)
          .expect(200)
      ).body.totalResults,
    ).toBe(0);
  });
});
